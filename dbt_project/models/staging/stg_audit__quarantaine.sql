-- Quarantined rows of the current sighting of each file (one row per bad row), with the recognised values the
-- onderbouwing needs to place a row in a mart cell, read from its reduced values (sources.md §5, §6).
select
    q.bron,
    q.pad as bestand,
    q.blad,
    q.rijnummer,
    b.leverdatum,
    b.commissie as bestand_commissie,
    q.waarden ->> 'toewijzing_id' as toewijzing_id,
    q.waarden ->> 'registratie_id' as registratie_id,
    q.waarden ->> 'commissie' as commissie,
    q.waarden ->> 'gemeente' as gemeente,
    try_cast(q.waarden ->> 'toewijzingsdatum' as date) as toewijzingsdatum,
    try_cast(q.waarden ->> 'aanvraagdatum' as date) as aanvraagdatum,
    try_cast(q.waarden ->> 'besluitdatum' as date) as besluitdatum,
    q.waarden ->> 'besluit' as besluit,
    q.waarden ->> 'urgentiecategorie' as urgentiecategorie,
    q.waarden ->> 'subcategorie' as subcategorie,
    q.waarden ->> 'toewijzingsroute' as toewijzingsroute,
    q.waarden ->> 'herkomstgemeente' as herkomstgemeente,
    q.waarden ->> 'inschrijfnummer' as inschrijfnummer_pseudoniem,
    q.kolom,
    q.reden,
    q.reden_codes,
    cast(q.reden_parameters as varchar) as reden_parameters,
    cast(json_extract_string(q.reden_parameters, '$[*].kop') as varchar[]) as koppen
from {{ source('audit', 'quarantaine') }} as q
inner join {{ source('audit', 'bestanden_actueel') }} as b on q.bestand_id = b.bestand_id
where b.status = 'geladen'
