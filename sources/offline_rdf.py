"""RDF from a catalogue page parsed with nothing fetched: no URL opened, no file read, whatever the page says.

Why: RDF parsers are built to follow links, and the page is written by a third party. rdflib's
JSON-LD parser fetches every `@context` it is not given inline (a context named at the top, in a
list, in a term definition, in a type-scoped context or by `@import`) with urllib or `open`, past
the HTTP layer: no address guard, robots.txt, rate limit, size cap or time limit, and `file:` reads
local files. rdflib has no loader option to refuse them, so two locks:

1. before parsing, the JSON is walked (without recursion) for every context reference; a page that
   names one is refused, naming it. `without_remote_contexts` gives the page with those references
   dropped, for reading what can still be trusted (the link to the next page).
2. the parse runs `sealed`: a Python audit hook (the mechanism rdflib's security notes point to)
   refuses, on the parsing thread only, any network call, process start or file open other than
   the interpreter reading its own library modules. A way to fetch we did not think of fails too.

RDF/XML is checked with defusedxml first (no DTD, so no entity can name a file or a URL), streamed,
with a bound on nesting. And a page is bounded in triples: rdflib keeps a graph in memory at about
1.3 KB per triple, so 400 KB of Turtle list (`( 1 1 1 ...)`) cost 540 MB; past MAX_TRIPLES the page
is refused, naming the bound, before the machine runs out of memory.
"""

from __future__ import annotations

import io
import json
import os
import site
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from rdflib import Graph
from rdflib.parser import PythonInputSource
from rdflib.plugins.stores.memory import Memory

CONTEXT, IMPORT = "@context", "@import"
SHOWN_REFERENCES = 3  # context references named in an error message
MAX_TRIPLES = 200_000  # per page: about 300 MB of rdflib graph; a paged DCAT catalogue holds a few thousand
MAX_XML_DEPTH = 100  # DCAT in RDF/XML nests about ten elements deep; rdflib's cost grows with each level
REACHING_OUT = frozenset({
    "open", "urllib.Request", "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
    "http.client.connect", "ftplib.connect", "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
})
_sealed: ContextVar[bool] = ContextVar("moisson_rdf_sealed", default=False)
_hook_installed = False


class RemoteContext(ValueError):
    """A JSON-LD page names contexts by reference (URLs or paths); they are never fetched."""

    def __init__(self, references: list[str]) -> None:
        shown = ", ".join(r[:200] for r in references[:SHOWN_REFERENCES])
        more = f" and {len(references) - SHOWN_REFERENCES} more" if len(references) > SHOWN_REFERENCES else ""
        super().__init__(f"JSON-LD names remote @context {shown}{more}: refused (contexts are never fetched)")
        self.references = references


class TooManyTriples(ValueError):
    """A page holds more triples than MAX_TRIPLES."""


class ReachedOut(PermissionError):
    """A parse tried to open a URL or a file (a PermissionError, so an import's .pyc cache write just skips)."""


def parse_graph(body: bytes, fmt: str, url: str) -> Graph:
    """The graph of one page; ValueError (RemoteContext for a context by reference) for anything refused or invalid."""
    if fmt == "xml":
        _check_xml(body)
    if fmt == "json-ld":
        document = load_json(body)
        references = remote_contexts(document)
        if references:
            raise RemoteContext(references)
        return parse_sealed(document, fmt, url)  # the JSON loaded once: a 20 MB page costs one copy, not two
    return parse_sealed(body, fmt, url)


def parse_sealed(page: bytes | str | object, fmt: str, url: str) -> Graph:
    """rdflib's parse with every way out refused; any error of the parser as ValueError.

    `page` is the page's bytes or text, or for JSON-LD the document already loaded.
    """
    graph = Graph(store=_BoundedMemory(MAX_TRIPLES))
    source = {"data": page} if isinstance(page, (bytes, str)) else {"source": PythonInputSource(page, url)}
    try:
        with sealed():
            graph.parse(**source, format=fmt, publicID=url)
    except ReachedOut as exc:
        raise ValueError(f"the {fmt} parser tried to reach out ({exc}): refused") from None
    except TooManyTriples as exc:
        raise ValueError(str(exc)) from None
    except Exception as exc:  # rdflib raises many unrelated classes (RecursionError too) for bad input
        raise ValueError(f"not valid {fmt}: {type(exc).__name__}: {str(exc)[:300]}") from None
    return graph


def load_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("malformed JSON-LD: nested deeper than the JSON reader allows") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"malformed JSON-LD: {exc}") from None


def remote_contexts(document: object) -> list[str]:
    """Every context the document names by reference, anywhere: top level, node, term or type-scoped, `@import`."""
    found: list[str] = []
    for node in _objects(document):
        found.extend(item for item in _flat(node.get(CONTEXT)) if isinstance(item, str))
        if IMPORT in node:
            found.append(node[IMPORT] if isinstance(node[IMPORT], str) else f"(an @import {type(node[IMPORT]).__name__})")
    return found


def without_remote_contexts(document: object) -> object:
    """The document with every context reference dropped (inline contexts kept), changed in place."""
    for node in _objects(document):
        node.pop(IMPORT, None)
        context = node.get(CONTEXT)
        if isinstance(context, str):
            del node[CONTEXT]
        elif isinstance(context, list):
            node[CONTEXT] = [item for item in _flat(context) if not isinstance(item, str)]
    return document


def _flat(context: object) -> list:
    """A context value as the list of contexts rdflib reads from it: lists in lists flattened, in order."""
    flat, stack = [], [context]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def _objects(document: object) -> Iterator[dict]:
    """Every JSON object in the document, inside contexts too, with an explicit stack (no recursion limit)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


class _BoundedMemory(Memory):
    """rdflib's in-memory store, refusing the triple past a bound (every add counts, repeats too: each costs time)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._left = limit
        self._limit = limit

    def add(self, triple, context, quoted: bool = False) -> None:
        self._left -= 1
        if self._left < 0:
            raise TooManyTriples(f"the page holds more than {self._limit} triples: refused (a catalogue is read "
                                 "page by page; ask the portal for smaller pages)")
        super().add(triple, context, quoted)


def _check_xml(body: bytes) -> None:
    """Well-formed, no DTD, at most MAX_XML_DEPTH deep; streamed, each element dropped once read."""
    open_elements = []
    try:
        for event, element in iterparse(io.BytesIO(body), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                open_elements.append(element)
                if len(open_elements) > MAX_XML_DEPTH:
                    raise ValueError(f"RDF/XML nested deeper than {MAX_XML_DEPTH} elements: refused")
                continue
            open_elements.pop()
            if open_elements:
                open_elements[-1].clear()  # only the check is wanted, not the tree
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(f"RDF/XML refused: {exc}") from None


@contextmanager
def sealed() -> Iterator[None]:
    """Refuse, on this thread and for the block's length, every network call, process start and file open."""
    _install_hook()
    token = _sealed.set(True)
    try:
        yield
    finally:
        _sealed.reset(token)


def _install_hook() -> None:
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_refuse_reaching_out)  # hooks cannot be removed: it does nothing unless sealed
        _hook_installed = True


def _refuse_reaching_out(event: str, args: tuple) -> None:
    if not _sealed.get() or event not in REACHING_OUT:
        return
    if event == "open" and _reads_library_module(args):
        return
    raise ReachedOut(f"{event} {str(args[0] if args else '')[:200]}")


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(site.getsitepackages())
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots)


LIBRARY_ROOTS = _library_roots()
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _reads_library_module(args: tuple) -> bool:
    """True for a read-only open under the interpreter's own library folders (a lazy import during the parse)."""
    path, flags = (args + (None, None, None))[0], (args + (None, None, None))[2]
    if not isinstance(path, (str, bytes)) or not isinstance(flags, int) or flags & WRITE_FLAGS:
        return False
    real = os.path.realpath(os.fsdecode(path))
    return real.startswith(LIBRARY_ROOTS) and real.endswith((".py", ".pyc", ".so"))
