-- Tien vragen die een analist aan de monitor stelt, elk als één SQL-query.
--
-- Ze lopen ongewijzigd op de gepubliceerde DuckDB-kopie (duckdb -readonly data/serving/fairshare.duckdb) en op
-- PostgreSQL (psql "postgresql://provincie_lezer@dbserver/monitor"): alleen standaard-SQL die beide kennen
-- (geen GROUP BY ALL, percentages als 100.0 * a / b, afronden via numeric(18, 6): een kale numeric is in DuckDB
-- DECIMAL(18, 3), dat al op drie decimalen afrondt). Alle cijfers komen uit de marts;
-- de kopcijfers van het bestuursrapport staan in marts.kerncijfers (per gemeente, ingroeipadgroep en de regio,
-- per jaar), met de kolommen op _afgerond zoals het rapport ze toont.
--
-- Elke vraag begint met een regel "-- vraag N: ..."; daaronder staat wat het antwoord betekent en hoe je het
-- leest. tests/test_serving_analyst.py draait ze alle tien op beide doelen en vergelijkt de antwoorden.

-- vraag 1: Van welke peildatum zijn deze cijfers, en tot welke dag lopen de gegevens?
-- Eén rij: de peildatum (1 april of 1 november), data_tot (de dag ervoor: later gebeurde telt nog niet), wanneer
-- en uit welke bouw de cijfers zijn gepubliceerd, en de regio. Zet de peildatum bij elk cijfer dat je toont.
SELECT peildatum, data_tot, gepubliceerd_op, bouw, regio
FROM info.publicatie;

-- vraag 2: Welke gemeenten lopen achter op hun eigen deel?
-- Per gemeente het compensatiesaldo sinds het begin van het afsprakenkader tot en met het laatste jaar:
-- wat zij meer (plus) of minder (min) huisvestte dan haar opgave naar rato over die hele periode, en het oordeel
-- van het rapport (achter, op koers, voor; de marge van de regio staat in marge_huishoudens). Bovenaan wie het
-- verst achter loopt.
SELECT
    code AS gemeente_code,
    naam AS gemeente_naam,
    jaar,
    cumulatief_gehuisvest,
    round(cast(cumulatief_opgave_naar_rato AS numeric(18, 6)), 1) AS cumulatief_opgave_naar_rato,
    round(cast(saldo AS numeric(18, 6)), 1) AS saldo,
    oordeel
FROM marts.kerncijfers
WHERE niveau = 'gemeente' AND jaar = (SELECT max(jaar) FROM marts.kerncijfers)
ORDER BY saldo, gemeente_code;

-- vraag 3: Wat is er veranderd sinds het vorige rapport?
-- Per gemeente het compensatiesaldo nu en in het vorige bestuursrapport (historie.kerncijfers: de kerncijfers
-- zoals elk eerder rapport ze toonde), voor hetzelfde jaar. Leeg in de kolommen vorig_ wanneer er nog geen
-- eerder rapport is. Welke cijfers door een correctie in de gegevens veranderden, staat per cijfer in
-- historie.verschillen_sinds_vorige.
SELECT
    nu.code AS gemeente_code,
    nu.naam AS gemeente_naam,
    nu.jaar,
    round(cast(nu.saldo AS numeric(18, 6)), 1) AS saldo,
    vorig.rapport_peildatum AS vorig_rapport,
    round(cast(vorig.saldo AS numeric(18, 6)), 1) AS vorig_saldo,
    round(cast(nu.saldo - vorig.saldo AS numeric(18, 6)), 1) AS verandering
FROM marts.kerncijfers AS nu
LEFT JOIN historie.kerncijfers AS vorig
    ON
        nu.niveau = vorig.niveau
        AND nu.code = vorig.code
        AND nu.jaar = vorig.jaar
        AND vorig.rapport_peildatum = (
            SELECT max(h.rapport_peildatum) FROM historie.kerncijfers AS h
            WHERE h.rapport_peildatum < (SELECT p.peildatum FROM info.publicatie AS p)
        )
WHERE nu.niveau = 'gemeente' AND nu.jaar = (SELECT max(jaar) FROM marts.kerncijfers)
ORDER BY nu.code;

-- vraag 4: Hoe groot is het aandeel urgent tegenover het plafond van de regio, per jaar?
-- De regio als geheel: welk deel van alle toewijzingen naar wettelijk urgenten ging (alle wettelijke
-- categorieën: het cijfer dat het rapport tegenover het plafond zet), en daarnaast alleen wat meetelt voor het
-- afsprakenkader. boven_plafond is waar als het aandeel boven max_aandeel_urgent_pct ligt. Het laatste jaar
-- loopt tot data_tot (maanden_data).
SELECT
    jaar,
    maanden_data,
    toewijzingen,
    wettelijk_urgent_gehuisvest,
    aandeel_wettelijk_urgent_pct_afgerond,
    aandeel_urgent_pct_afgerond,
    max_aandeel_urgent_pct,
    boven_plafond
FROM marts.kerncijfers
WHERE niveau = 'regio'
ORDER BY jaar;

-- vraag 5: Ligt het ingroeipad op schema?
-- Per groep van het ingroeipad en per jaar: gehuisvest tegenover de afspraak naar rato, hoeveel procent de
-- groep achter ligt (negatief is voor) en het oordeel: gehaald / niet gehaald voor een afgerond jaar, op schema
-- / achter / voor voor het lopende jaar.
SELECT
    code AS groep,
    jaar,
    maanden_data,
    gehuisvest,
    ingroeipad_afspraak,
    round(cast(ingroeipad_afspraak_naar_rato AS numeric(18, 6)), 1) AS afspraak_naar_rato,
    ingroeipad_achterstand_pct_afgerond,
    ingroeipad_oordeel
FROM marts.kerncijfers
WHERE niveau = 'groep' AND ingroeipad_afspraak IS NOT NULL
ORDER BY groep, jaar;

-- vraag 6: Keren mensen die uit een instelling uitstromen terug naar hun eigen gemeente?
-- Per gemeente van herkomst, sinds het begin van het afsprakenkader: hoeveel wettelijk urgenten in de categorie
-- uitstroom een woning kregen, hoeveel daarvan in hun gemeente van herkomst, en het percentage (instroom =
-- uitstroom). De rij van de regio is het totaal.
SELECT
    niveau,
    code,
    naam,
    uitgestroomd_cumulatief,
    teruggekeerd_cumulatief,
    terugkeer_cumulatief_pct_afgerond
FROM marts.kerncijfers
WHERE niveau IN ('gemeente', 'regio') AND jaar = (SELECT max(jaar) FROM marts.kerncijfers)
ORDER BY niveau, terugkeer_cumulatief_pct_afgerond, code;

-- vraag 7: Hoe lang wachten urgenten op een woning?
-- Per urgentiecommissie, voor de urgenties die in het laatste jaar werden toegekend: hoeveel er al een woning
-- kregen, hoeveel binnen zes maanden, de mediane wachttijd in dagen (over de categorieën: de hoogste van de
-- categorieën), en hoeveel nog wachten of verliepen. Het aandeel binnen zes maanden per gemeente en regio staat
-- in marts.kerncijfers.binnen_6_maanden_pct.
SELECT
    d.commissie,
    c.label AS commissie_naam,
    d.jaar,
    sum(d.toegekend) AS toegekend,
    sum(d.gehuisvest) AS gehuisvest,
    sum(d.binnen_6_maanden) AS binnen_6_maanden,
    round(cast(100.0 * sum(d.binnen_6_maanden) / nullif(sum(d.toegekend), 0) AS numeric(18, 6)), 1) AS binnen_6_maanden_pct,
    max(d.mediane_wachttijd_dagen) AS hoogste_mediane_wachttijd_dagen,
    sum(d.nog_wachtend) AS nog_wachtend,
    sum(d.verlopen) AS verlopen
FROM marts.doorlooptijd_huisvesting AS d
LEFT JOIN referentie.commissies AS c ON d.commissie = c.commissie_code
WHERE d.jaar = (SELECT max(jaar) FROM marts.doorlooptijd_huisvesting)
GROUP BY d.commissie, c.label, d.jaar
ORDER BY d.commissie;

-- vraag 8: Waarom worden urgentieaanvragen afgewezen?
-- Over alle commissies samen, voor besluiten in het laatste jaar: het aantal afwijzingen per reden en het
-- aandeel van elke reden in alle afwijzingen van dat jaar.
SELECT
    afwijzingsgrond,
    sum(afgewezen) AS afgewezen,
    round(
        cast(100.0 * sum(afgewezen) / (
            SELECT sum(a.afgewezen) FROM marts.urgentie_afwijzingen AS a
            WHERE a.jaar = (SELECT max(b.jaar) FROM marts.urgentie_afwijzingen AS b)
        ) AS numeric(18, 6)),
        1
    ) AS aandeel_pct
FROM marts.urgentie_afwijzingen
WHERE jaar = (SELECT max(jaar) FROM marts.urgentie_afwijzingen)
GROUP BY afwijzingsgrond
ORDER BY afgewezen DESC, afwijzingsgrond;

-- vraag 9: Hoeveel woningen voor ouderen zijn er in de plannen, per gemeente?
-- Uit de laatste momentopname van het planregister: per gemeente en woningtype (nultreden, zorggeschikt,
-- geclusterd) de plancapaciteit (in aanbouw + hard + zacht), wat dit jaar is gerealiseerd, de verandering
-- tegenover de vorige momentopname en het doel van de regio (leeg waar er geen is).
SELECT
    o.gemeente_code,
    g.gemeente_naam,
    o.peildatum,
    o.woningtype,
    o.gerealiseerd_dit_jaar,
    o.in_aanbouw,
    o.hard,
    o.zacht,
    o.plancapaciteit,
    o.mutatie_plancapaciteit,
    o.doel
FROM marts.ouderenhuisvesting AS o
LEFT JOIN referentie.gemeenten AS g ON o.gemeente_code = g.gemeente_code
WHERE o.peildatum = (SELECT max(peildatum) FROM marts.ouderenhuisvesting)
ORDER BY o.gemeente_code, o.woningtype;

-- vraag 10: Welke urgentiecategorie blijft achter bij de opgave?
-- Over alle gemeenten samen, in het laatste jaar: per wettelijke categorie gehuisvest (wat meetelt) tegenover de
-- opgave naar rato, en het verschil (negatief is achter). gehuisvest_buiten_afspraak telt wat wettelijk urgent
-- is maar volgens de regio niet meetelt.
SELECT
    urgentiecategorie,
    sum(gehuisvest) AS gehuisvest,
    sum(gehuisvest_buiten_afspraak) AS gehuisvest_buiten_afspraak,
    round(cast(sum(opgave_naar_rato) AS numeric(18, 6)), 1) AS opgave_naar_rato,
    round(cast(sum(verschil) AS numeric(18, 6)), 1) AS verschil
FROM marts.fair_share
WHERE jaar = (SELECT max(jaar) FROM marts.fair_share)
GROUP BY urgentiecategorie
ORDER BY verschil, urgentiecategorie;
