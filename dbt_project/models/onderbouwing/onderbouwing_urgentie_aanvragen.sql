{{ config(alias='urgentie_aanvragen') }}
-- Per cell of marts.urgentie_aanvragen (commissie x jaar of aanvraagdatum): the applications behind aanvragen
-- and behind each decision as of P, and those that did not count, with the reason.
with registraties as (
    -- the mart's own rows (int_registraties: the applications as they stood at P), with their file and row
    select
        r.*,
        s.besluit as besluit_geleverd,
        s.besluitdatum as besluitdatum_geleverd,
        s.bestand,
        s.blad,
        s.rijnummer,
        s.leverdatum
    from {{ ref('int_registraties') }} as r
    inner join {{ ref('stg_urgentie__registraties') }} as s
        on r.commissie = s.commissie and r.registratie_id = s.registratie_id
),

geteld as (
    select *, 'aanvragen' as kolom, true as telt_mee, null as reden_code, null as reden from registraties
    union all
    select *, besluit as kolom, true as telt_mee, null as reden_code, null as reden from registraties
    union all
    -- decided after data_tot: still in behandeling as of P, not in the decision it got later
    select
        r.*,
        r.besluit_geleverd as kolom,
        false as telt_mee,
        'besluit_na_data_tot' as reden_code,
        'besluit (' || r.besluit_geleverd || ') op ' || strftime(r.besluitdatum_geleverd, '%d-%m-%Y')
        || ', na data_tot (' || strftime(p.data_tot, '%d-%m-%Y') || '): telt op de peildatum als in behandeling'
            as reden
    from registraties as r
    cross join {{ ref('int_peildatum') }} as p
    where r.besluit_geleverd <> 'in_behandeling' and r.besluitdatum_geleverd > p.data_tot
),

na_data_tot as (
    select
        coalesce(c.commissie_code, s.commissie) as commissie_code,
        cast(year(s.aanvraagdatum) as integer) as jaar,
        'aanvragen' as kolom,
        false as telt_mee,
        'na_data_tot' as reden_code,
        'aangevraagd op ' || strftime(s.aanvraagdatum, '%d-%m-%Y') || ', na data_tot ('
        || strftime(p.data_tot, '%d-%m-%Y') || '): bestaat op de peildatum nog niet' as reden,
        s.commissie,
        s.registratie_id,
        s.aanvraagdatum,
        cast(null as date) as besluitdatum,
        'in_behandeling' as besluit,
        s.besluit as besluit_geleverd,
        s.besluitdatum as besluitdatum_geleverd,
        s.urgentiecategorie,
        s.subcategorie,
        s.inschrijfnummer_pseudoniem,
        s.bestand,
        s.blad,
        s.rijnummer,
        s.leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes,
        cast(null as varchar) as quarantaine_reden_parameters
    from {{ ref('stg_urgentie__registraties') }} as s
    cross join {{ ref('int_peildatum') }} as p
    left join {{ ref('commissies') }} as c on s.commissie = c.commissie
    where s.aanvraagdatum > p.data_tot
),

quarantaine as (
    select
        q.commissie_code,
        cast(year(q.aanvraagdatum) as integer) as jaar,
        'aanvragen' as kolom,
        false as telt_mee,
        'quarantaine' as reden_code,
        q.reden_nl as reden,
        q.registratie_commissie as commissie,
        q.registratie_id,
        q.aanvraagdatum,
        q.besluitdatum,
        q.besluit,
        q.besluit as besluit_geleverd,
        q.besluitdatum as besluitdatum_geleverd,
        q.urgentiecategorie_code as urgentiecategorie,
        q.subcategorie,
        q.inschrijfnummer_pseudoniem,
        q.bestand,
        q.blad,
        q.rijnummer,
        q.leverdatum,
        q.reden_codes as quarantaine_reden_codes,
        q.reden_parameters as quarantaine_reden_parameters
    from {{ ref('ond_quarantaine') }} as q
    cross join {{ ref('int_peildatum') }} as p
    where q.bron = 'urgentie' and q.commissie_code is not null and q.aanvraagdatum <= p.data_tot
),

rijen as (
    select
        commissie_code, jaar, kolom, telt_mee, cast(reden_code as varchar) as reden_code,
        cast(reden as varchar) as reden, commissie, registratie_id, aanvraagdatum, besluitdatum, besluit,
        besluit_geleverd, besluitdatum_geleverd, urgentiecategorie, subcategorie, inschrijfnummer_pseudoniem,
        bestand, blad, rijnummer, leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes, cast(null as varchar) as quarantaine_reden_parameters
    from (select *, cast(year(aanvraagdatum) as integer) as jaar from geteld) as g
    union all
    select * from na_data_tot
    union all
    select * from quarantaine
)

select
    r.commissie_code as commissie,
    r.jaar,
    r.kolom,
    r.telt_mee,
    r.reden_code,
    r.reden,
    'urgentie' as bron,
    r.commissie as registratie_commissie,
    r.registratie_id,
    r.aanvraagdatum,
    r.besluitdatum,
    r.besluit,
    r.besluit_geleverd,
    r.besluitdatum_geleverd,
    r.urgentiecategorie,
    r.subcategorie,
    r.inschrijfnummer_pseudoniem,
    r.bestand,
    r.blad,
    r.rijnummer,
    r.leverdatum,
    r.quarantaine_reden_codes,
    r.quarantaine_reden_parameters
from rijen as r
semi join {{ ref('urgentie_aanvragen') }} as m on r.commissie_code = m.commissie and r.jaar = m.jaar
