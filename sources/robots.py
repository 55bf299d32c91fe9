"""robots.txt rules for one host, read once per harvest (RFC 9309).

Why here and not in each connector: a harvester that fetches files found in catalogues is a crawler,
and the servers it visits say in robots.txt what they allow and how fast (crawl-delay). Catalogue
API calls (package_search, ListRecords) are what those APIs exist for; file fetches are crawling.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.robotparser import RobotFileParser

MAX_ROBOTS_BYTES = 512 * 1024


@dataclass
class RobotsRules:
    """What one host's robots.txt says for our user agent."""

    parser: RobotFileParser | None  # None: no rules, everything allowed
    disallow_all: bool = False  # robots.txt unreachable (5xx, network error): RFC 9309 says assume disallowed
    reason: str = ""
    lines: tuple[str, ...] = ()

    @classmethod
    def from_response(cls, status: int, body: bytes) -> "RobotsRules":
        if 200 <= status < 300:
            parser = RobotFileParser()
            lines = tuple(body.decode("utf-8", errors="replace").splitlines())
            parser.parse(lines)
            return cls(parser, lines=lines)
        if 400 <= status < 500:
            return cls(None, reason=f"robots.txt answered {status}: no rules")
        return cls(None, disallow_all=True, reason=f"robots.txt answered {status}: assume everything disallowed")

    @classmethod
    def unreachable(cls, why: str) -> "RobotsRules":
        return cls(None, disallow_all=True, reason=f"robots.txt unreachable ({why}): assume everything disallowed")

    def allows(self, user_agent: str, url: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, token: str) -> float:
        """Crawl-delay of the group naming our token, else of the `*` group (fractions allowed, unlike urllib's)."""
        delays: dict[str, float] = {}
        agents: list[str] = []
        in_rules = False
        for raw in self.lines:
            name, _, value = raw.split("#", 1)[0].partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "user-agent":
                agents = [] if in_rules else agents
                agents.append(value.lower())
                in_rules = False
            elif name:
                in_rules = True
                if name == "crawl-delay":
                    try:
                        delays.update({agent: max(0.0, float(value)) for agent in agents})
                    except ValueError:
                        pass
        mine = [d for agent, d in delays.items() if agent != "*" and agent in token]
        return min(max(mine or [delays.get("*", 0.0)]), 60.0)
