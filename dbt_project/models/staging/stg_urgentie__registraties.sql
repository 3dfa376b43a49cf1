-- Urgency applications, latest delivery per (commissie, registratie_id).
select
    commissie,
    registratie_id,
    aanvraagdatum,
    besluitdatum,
    besluit,
    afwijzingsgrond,
    urgentiecategorie,
    subcategorie,
    herkomstgemeente,
    herkomstgemeente_buiten_regio,
    coalesce(contra_indicatie, false) as contra_indicatie,
    geldig_tot,
    inschrijfnummer_pseudoniem,
    _pad as bestand,
    _leverdatum as leverdatum,
    -- lineage: the sheet and the row as a spreadsheet user counts it (the onderbouwing views show them)
    _blad as blad,
    _rijnummer as rijnummer
from {{ source('raw', 'urgentie_registraties_actueel') }}
