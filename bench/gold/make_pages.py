"""Writes bench/gold/pages/*.html: pages written for the multilingual snippet set (Italian and Portuguese, where
the bench archive has too few pages), in four layouts real sites use: an <article> with nav, cookie banner,
related links and footer; an article laid out in a table beside a menu column; a blog post with comments; a
report with a data table. Articles and boilerplate are original text. Run once; the pages are committed.
Prints the JSON entries (with/without snippets) to add to multilingual_snippets.json."""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "pages"

BOILER = {
    "it": {"nav": ["Cronaca", "Politica interna", "Economia e lavoro", "Sport locale", "Cultura e spettacoli"],
           "cookie": "Questo sito utilizza cookie tecnici e di profilazione per migliorare la tua esperienza di navigazione.",
           "accept": "Accetta tutti i cookie", "footer": "Editoriale Valle Srl - Partita IVA 01234560789 - Tutti i diritti riservati",
           "related": "Leggi anche", "comments": "Commenti dei lettori", "share": "Condividi su Facebook"},
    "pt": {"nav": ["Últimas notícias", "Política nacional", "Economia e negócios", "Desporto regional", "Cultura e lazer"],
           "cookie": "Utilizamos cookies para personalizar conteúdos e analisar o tráfego do nosso sítio.",
           "accept": "Aceitar todos os cookies", "footer": "Jornal do Vale, Lda. - NIPC 509876543 - Todos os direitos reservados",
           "related": "Leia também", "comments": "Comentários dos leitores", "share": "Partilhar no Facebook"},
}

# (language, layout, title, paragraphs, related-link titles, comment)
ARTICLES = [
    ("it", "article", "Il ponte sul torrente riapre dopo due anni di lavori",
     ["Dopo quasi due anni di cantiere, il ponte che collega le due frazioni del comune riapre al traffico lunedì mattina. I lavori hanno rinforzato i piloni danneggiati dall'alluvione e allargato la carreggiata di un metro.",
      "Il sindaco ha ricordato che durante la chiusura gli abitanti della frazione alta dovevano percorrere undici chilometri in più per raggiungere la scuola e l'ambulatorio. Ora il tragitto torna a durare pochi minuti.",
      "La spesa complessiva è stata di un milione e trecentomila euro, coperta in gran parte da fondi regionali. Resta da completare la pista ciclabile, che sarà aperta entro l'estate secondo il cronoprogramma."],
     ["Nuovo orario estivo per gli autobus della valle", "Chiude lo storico forno di piazza Garibaldi"], None),
    ("it", "table", "La biblioteca civica compie cento anni",
     ["La biblioteca civica festeggia il suo primo secolo con una settimana di incontri, letture e visite guidate ai fondi antichi. Nel 1925 contava appena quattrocento volumi donati da un medico del paese.",
      "Oggi il catalogo supera i sessantamila titoli e ogni anno i prestiti crescono, soprattutto tra i ragazzi delle scuole medie. La sala di lettura resta aperta anche il sabato pomeriggio.",
      "Per l'anniversario è stata restaurata la mappa del territorio disegnata a mano nel Settecento, esposta nell'atrio fino alla fine del mese insieme ad alcune lettere dei fondatori."],
     ["Mostra di fotografie d'epoca al museo", "Concerto della banda cittadina in piazza"], None),
    ("it", "blog", "Come ho imparato a fare il pane con il lievito madre",
     ["Il primo tentativo è stato un disastro: una pagnotta piatta e dura come un sasso. Avevo usato il lievito madre troppo presto, quando non era ancora abbastanza attivo per far crescere l'impasto.",
      "Con il tempo ho capito che la temperatura della cucina conta più della ricetta. D'inverno lascio riposare l'impasto vicino al termosifone e allungo la lievitazione di qualche ora.",
      "Adesso sforno due pagnotte ogni domenica e ne regalo una ai vicini. Il segreto, alla fine, è la pazienza: nessuna farina speciale sostituisce le ore di attesa."],
     ["Dieci ricette con il pane raffermo", "La mia prima marmellata di fichi"],
     "Bellissimo racconto, anche a me la prima pagnotta è venuta piatta come una frittata!"),
    ("it", "data", "Pioggia record a ottobre nelle stazioni della provincia",
     ["Il mese di ottobre si è chiuso con precipitazioni ben sopra la media in quasi tutte le stazioni meteorologiche della provincia. Gli esperti parlano del mese più piovoso degli ultimi trent'anni.",
      "Le piogge si sono concentrate in due episodi intensi, a metà e a fine mese, che hanno ingrossato i fiumi senza però causare esondazioni gravi. Alcune strade di montagna sono rimaste chiuse per frane.",
      "I tecnici ricordano che i terreni saturi aumentano il rischio di smottamenti anche con piogge modeste nelle prossime settimane, e invitano alla prudenza chi percorre le strade collinari."],
     ["Allerta gialla per vento forte sulla costa", "Neve precoce sulle cime più alte"], None),
    ("it", "article", "Il mercato contadino si sposta nel cortile del castello",
     ["Da sabato prossimo il mercato contadino lascia il parcheggio della stazione e si trasferisce nel cortile del castello. Le bancarelle saranno trentadue, quasi il doppio rispetto allo scorso anno.",
      "I produttori chiedevano da tempo uno spazio coperto per i mesi freddi: il porticato del castello permette di restare aperti anche con la pioggia. Il comune ha sistemato l'illuminazione e i servizi igienici.",
      "Oltre a frutta, verdura e formaggi, ogni mese ci sarà un laboratorio per bambini dedicato alla stagionalità dei prodotti e alla riduzione degli sprechi alimentari."],
     ["Sagra della castagna, il programma completo", "Lavori in corso in via Roma fino a dicembre"], None),
    ("it", "table", "Una squadra di pallavolo femminile conquista la promozione",
     ["Le ragazze della polisportiva hanno vinto la finale dei playoff al quinto set e conquistano la promozione in serie C. Il palazzetto era pieno come non succedeva da anni.",
      "L'allenatrice ha dedicato la vittoria alle giocatrici più giovani, entrate in campo nei momenti decisivi. Tre di loro hanno appena sedici anni e si allenano quattro sere alla settimana.",
      "La società dovrà ora trovare nuovi sponsor per affrontare le trasferte più lunghe del prossimo campionato, che toccheranno anche le province vicine."],
     ["Calcio giovanile, il torneo di primavera", "Corsa campestre: iscrizioni aperte"], None),
    ("it", "blog", "Tre giorni a piedi lungo la vecchia via dei pellegrini",
     ["Siamo partiti all'alba con zaini leggeri e una mappa stampata, perché in molti tratti il telefono non prende. Il primo giorno il sentiero attraversa boschi di faggi e piccoli borghi quasi disabitati.",
      "La seconda tappa è la più dura: una salita di ottocento metri fino al passo, ricompensata da una vista che abbraccia tutta la pianura. Abbiamo dormito in un ostello gestito da volontari.",
      "L'ultimo giorno la discesa verso il lago ci ha fatto dimenticare le vesciche. Consiglio scarpe già rodate e almeno due litri d'acqua a testa, perché le fontane sono poche."],
     ["Cosa mettere nello zaino per un trekking", "Il rifugio più alto della regione"],
     "Grazie per i consigli, ad aprile voglio provare anch'io il percorso con mia sorella."),
    ("it", "data", "Iscrizioni alle scuole superiori: i licei restano in testa",
     ["I dati delle iscrizioni per il prossimo anno scolastico confermano la preferenza delle famiglie per i licei, ma gli istituti tecnici recuperano terreno per il secondo anno consecutivo.",
      "Secondo l'ufficio scolastico provinciale, la crescita degli istituti tecnici è legata ai nuovi indirizzi dedicati all'energia e alla logistica, nati in collaborazione con le imprese del territorio.",
      "Gli istituti professionali perdono invece qualche iscritto, soprattutto nei comuni più piccoli, dove le famiglie lamentano collegamenti di trasporto pubblico scarsi e orari poco adatti."],
     ["Mense scolastiche, nuove tariffe", "Concorso per insegnanti: le date delle prove"], None),
    ("it", "article", "Un nuovo ambulatorio pediatrico apre nel quartiere nord",
     ["Il quartiere nord avrà finalmente un ambulatorio pediatrico: apre il primo del mese nei locali dell'ex ufficio postale, ristrutturati con il contributo della fondazione bancaria.",
      "Due pediatre riceveranno su appuntamento tutti i giorni feriali, mentre il giovedì pomeriggio sarà dedicato alle vaccinazioni. Finora le famiglie dovevano rivolgersi al centro, spesso con lunghe attese.",
      "L'azienda sanitaria valuta di aggiungere in autunno uno sportello per il supporto psicologico agli adolescenti, richiesto da molte scuole della zona."],
     ["Farmacie di turno nel fine settimana", "Donazioni di sangue, appello dell'associazione"], None),
    ("it", "table", "Il teatro comunale presenta la nuova stagione",
     ["Il teatro comunale ha presentato una stagione di ventidue spettacoli, dalla prosa classica alla danza contemporanea. Per la prima volta ci saranno anche tre serate dedicate alle compagnie giovani del territorio.",
      "Gli abbonamenti sono in vendita da lunedì con uno sconto per gli studenti universitari. Il direttore artistico ha voluto prezzi bassi per riportare in sala chi si era allontanato negli ultimi anni.",
      "Tra gli appuntamenti più attesi c'è una riduzione dell'Odissea pensata per le scuole, con musiche eseguite dal vivo dagli allievi del conservatorio."],
     ["Cinema all'aperto nel parco della villa", "Festival di musica antica, ospiti internazionali"], None),
    ("it", "blog", "Perché ho smesso di comprare vestiti nuovi per un anno",
     ["Dodici mesi fa ho deciso di non comprare capi nuovi per un anno intero. Non per moda, ma perché l'armadio era pieno di cose che non mettevo mai e mi sentivo in colpa a ogni acquisto.",
      "I primi due mesi sono stati i più difficili: ogni vetrina sembrava una tentazione. Poi ho scoperto i mercatini dell'usato e le serate di scambio organizzate da un'associazione del quartiere.",
      "Ho risparmiato circa seicento euro e ho imparato a rammendare. Non so se continuerò con la stessa rigidità, ma di sicuro non tornerò a comprare senza pensare."],
     ["Guida al guardaroba essenziale", "Riparare una cerniera in dieci minuti"],
     "Anch'io ci sto provando da tre mesi, gli scambi tra amiche sono la soluzione migliore."),
    ("pt", "article", "Câmara reabre piscina municipal depois das obras",
     ["A piscina municipal volta a abrir ao público na próxima segunda-feira, depois de oito meses de obras de remodelação. O telhado foi substituído e o sistema de aquecimento passou a usar painéis solares.",
      "Durante o encerramento, os clubes de natação tiveram de treinar na cidade vizinha, a quarenta minutos de autocarro. Os pais dos atletas mais novos queixaram-se várias vezes dos custos das deslocações.",
      "A autarquia promete manter os preços das entradas e criar horários para idosos de manhã cedo. As aulas de hidroginástica recomeçam na segunda semana de funcionamento."],
     ["Feira do livro regressa ao jardim público", "Novas ciclovias ligam o centro à praia"], None),
    ("pt", "table", "Escola primária recebe prémio nacional de leitura",
     ["A escola primária da aldeia venceu o prémio nacional de promoção da leitura com um projeto em que os alunos leem histórias aos utentes do lar de idosos todas as sextas-feiras.",
      "A professora responsável conta que a ideia nasceu durante a pandemia, quando as crianças escreviam cartas aos avós que não podiam visitar. Agora as leituras são presenciais e muito esperadas.",
      "O valor do prémio será usado para renovar a biblioteca escolar e comprar livros em braille para um aluno com deficiência visual que entrou este ano no primeiro ciclo."],
     ["Concurso de fotografia para jovens", "Ateliês de verão no museu municipal"], None),
    ("pt", "blog", "O que aprendi a cultivar tomates numa varanda",
     ["Quando me mudei para um apartamento pequeno pensei que nunca mais teria uma horta. Afinal, uma varanda virada a sul chega para cultivar tomates, manjericão e até alguns pimentos.",
      "O maior erro do primeiro ano foi usar vasos demasiado pequenos: as raízes não tinham espaço e as plantas secavam em poucas horas nos dias de calor. Agora uso baldes de vinte litros.",
      "Este verão colhi quase oito quilos de tomate-cereja. Não chega para deixar de ir ao mercado, mas o sabor de um tomate apanhado na hora compensa todo o trabalho."],
     ["Como fazer composto em casa", "Plantas aromáticas que resistem ao sol"],
     "Que inspiração! Vou experimentar os baldes grandes já na próxima primavera."),
    ("pt", "data", "Turismo rural cresce no interior do distrito",
     ["As dormidas em turismo rural no interior do distrito cresceram pelo terceiro ano seguido, segundo os dados divulgados pela entidade regional de turismo. O aumento foi maior nos meses de primavera.",
      "Os responsáveis explicam o crescimento com a procura de férias tranquilas e com os novos percursos pedestres sinalizados nas serras. Muitas casas antigas foram recuperadas por famílias que regressaram à terra.",
      "Os empresários pedem agora melhor cobertura de rede móvel e transportes públicos ao fim de semana, para que os visitantes sem carro também possam chegar às aldeias."],
     ["Rota dos moinhos ganha nova sinalização", "Mercado medieval atrai milhares de visitantes"], None),
    ("pt", "article", "Bombeiros voluntários recebem nova ambulância",
     ["Os bombeiros voluntários da vila receberam uma nova ambulância de socorro, oferecida por uma empresa local e por uma campanha de angariação de fundos que envolveu as escolas e as coletividades.",
      "O comandante sublinhou que a viatura antiga tinha mais de quinhentos mil quilómetros e avariava com frequência, obrigando a pedir apoio às corporações vizinhas em emergências graves.",
      "A nova ambulância está equipada com um desfibrilhador moderno e um sistema de localização que permite à central acompanhar o percurso em tempo real durante cada saída."],
     ["Campanha de recolha de alimentos supera metas", "Obras na estrada nacional provocam desvios"], None),
    ("pt", "table", "Coro da cidade atua em festival internacional",
     ["O coro da cidade foi convidado para um festival internacional de música coral e vai atuar em três concertos no próximo mês. É a primeira vez que o grupo canta fora do país.",
      "Os quarenta coralistas ensaiam duas noites por semana num salão da junta de freguesia. Entre eles há estudantes, reformados e uma família inteira com três gerações a cantar lado a lado.",
      "Para pagar as viagens, o coro organizou jantares solidários e vendeu um disco gravado na igreja matriz. O maestro espera trazer da viagem novas peças para o repertório de Natal."],
     ["Orquestra juvenil procura novos músicos", "Cinema ao ar livre no parque da cidade"], None),
    ("pt", "blog", "Um mês sem redes sociais no telemóvel",
     ["Apaguei as aplicações das redes sociais do telemóvel durante um mês inteiro. Nos primeiros dias pegava no aparelho por reflexo, sem saber bem o que procurava.",
      "Na segunda semana comecei a ler no autocarro e a reparar nas conversas à minha volta. Também passei a dormir melhor, porque deixei de ficar acordado a deslizar o dedo no ecrã.",
      "Voltei a instalar uma das aplicações, mas só a abro no computador e ao fim do dia. Foi a experiência mais simples e mais útil que fiz este ano."],
     ["Livros curtos para ler numa semana", "Como organizar as fotografias antigas"],
     "Eu fiz o mesmo durante as férias e senti uma diferença enorme no sono."),
]

TABLE_DATA = {
    "it": (["Stazione", "Millimetri", "Media del mese"], [["Valle Alta", "312", "140"], ["Pianura Est", "198", "95"], ["Costa Sud", "256", "110"]]),
    "pt": (["Concelho", "Dormidas", "Variação"], [["Serra Verde", "18 450", "+12%"], ["Vale do Rio", "9 870", "+7%"], ["Planalto", "5 320", "+15%"]]),
}
DATA_TABLE_SCHOOLS = (["Indirizzo", "Iscritti", "Quota"], [["Licei", "4 120", "52%"], ["Istituti tecnici", "2 830", "36%"], ["Professionali", "950", "12%"]])


def page(number: int, lang: str, layout: str, title: str, paragraphs: list[str], related: list[str],
         comment: str | None) -> str:
    b = BOILER[lang]
    nav = "".join(f'<li><a href="/s/{i}">{item}</a></li>' for i, item in enumerate(b["nav"]))
    cookie = f'<div id="cookie-banner" class="cookie-consent"><p>{b["cookie"]}</p><button>{b["accept"]}</button></div>'
    rel = "".join(f'<li><a href="/a/{number}-{i}">{t}</a></li>' for i, t in enumerate(related))
    footer = f'<footer class="site-footer"><p>{b["footer"]}</p></footer>'
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    if layout == "data":
        head, rows = DATA_TABLE_SCHOOLS if "scuole" in title.lower() or "iscrizioni" in title.lower() else TABLE_DATA[lang]
        table = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
                 + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows) + "</tbody></table>")
        body = f"<p>{paragraphs[0]}</p>{table}" + "".join(f"<p>{p}</p>" for p in paragraphs[1:])
    share = f'<div class="share-buttons"><a href="#">{b["share"]}</a></div>'
    related_box = f'<aside class="related"><h3>{b["related"]}</h3><ul>{rel}</ul></aside>'
    comments = (f'<section id="comments" class="comments"><h3>{b["comments"]}</h3><div class="comment">'
                f'<p class="comment-author">Giulia R.</p><p>{comment}</p></div></section>') if comment else ""
    if layout == "table":
        main = (f'<table width="100%" cellpadding="0" cellspacing="0"><tr><td width="180" valign="top"><ul class="menu">{nav}</ul>'
                f'</td><td valign="top"><h1>{title}</h1>{body}</td><td width="10"></td></tr>'
                f'<tr><td></td><td>{share}</td><td></td></tr><tr><td></td><td><ul>{rel}</ul></td><td></td></tr>'
                f'<tr><td colspan="3">{b["footer"]}</td></tr></table>')
        return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
                f'<body>{cookie}{main}</body></html>')
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'{cookie}<header><nav class="main-nav"><ul>{nav}</ul></nav></header><main><article><h1>{title}</h1>'
            f'{body}{share}</article>{comments}{related_box}</main>{footer}</body></html>')


def main() -> int:
    OUT.mkdir(exist_ok=True)
    entries = []
    for number, (lang, layout, title, paragraphs, related, comment) in enumerate(ARTICLES):
        name = f"{lang}-{number:02d}-{layout}.html"
        (OUT / name).write_text(page(number, lang, layout, title, paragraphs, related, comment), encoding="utf-8")
        b = BOILER[lang]
        with_ = [p.split(". ")[0][:90] for p in paragraphs] + [paragraphs[-1].split(". ")[-1][:70]]
        without = [b["cookie"][:60], b["nav"][1], related[0], b["footer"][:40]] + ([comment[:50]] if comment else [])
        entries.append({"id": name, "url": f"https://example.org/{name}", "language": lang, "origin": "written",
                        "with": with_[:6], "without": without[:6]})
    json.dump(entries, sys.stdout, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
