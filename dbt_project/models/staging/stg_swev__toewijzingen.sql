-- The allocations (source key 'swev'), latest delivery per toewijzing_id, typed and renamed.
select
    toewijzing_id,
    corporatie,
    gemeente as gemeente_code,
    toewijzingsdatum,
    cast(year(toewijzingsdatum) as integer) as jaar,
    netto_huur,
    aantal_kamers,
    label,
    coalesce(gepersonaliseerde_huur, false) as gepersonaliseerde_huur,
    toewijzingsroute,
    urgentiecategorie,
    subcategorie,
    huisvestingsvergunning_urgentie,
    herkomstgemeente,
    herkomstgemeente_buiten_regio,
    inschrijfnummer_pseudoniem,
    pc4,
    huishoudgrootte,
    leeftijdsklasse,
    _pad as bestand,
    _leverdatum as leverdatum,
    -- lineage: the sheet and the row as a spreadsheet user counts it (the onderbouwing views show them)
    _blad as blad,
    _rijnummer as rijnummer
from {{ source('raw', 'swev_toewijzingen_actueel') }}
