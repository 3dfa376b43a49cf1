{{ config(alias='fair_share_gemeente') }}
-- Per cell of marts.fair_share_gemeente (gemeente x jaar): every allocation behind toewijzingen, the urgent ones
-- behind gehuisvest and gehuisvest_buiten_afspraak (the rows of onderbouwing.fair_share), and what did not count.
with toewijzingen as (
    select
        t.gemeente_code,
        t.jaar,
        'toewijzingen' as kolom,
        true as telt_mee,
        cast(null as varchar) as reden_code,
        cast(null as varchar) as reden,
        t.toewijzing_id,
        t.toewijzingsdatum,
        t.corporatie,
        t.urgentiecategorie,
        t.subcategorie,
        t.toewijzingsroute,
        t.inschrijfnummer_pseudoniem,
        t.bestand,
        t.blad,
        t.rijnummer,
        t.leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes,
        cast(null as varchar) as quarantaine_reden_parameters
    from {{ ref('int_toewijzingen') }} as t
),

na_data_tot as (
    select
        t.gemeente_code,
        t.jaar,
        'toewijzingen' as kolom,
        false as telt_mee,
        'na_data_tot' as reden_code,
        'toegewezen op ' || strftime(t.toewijzingsdatum, '%d-%m-%Y') || ', na data_tot ('
        || strftime(p.data_tot, '%d-%m-%Y') || '): telt pas mee in een latere rapportage' as reden,
        t.toewijzing_id,
        t.toewijzingsdatum,
        t.corporatie,
        t.urgentiecategorie,
        t.subcategorie,
        t.toewijzingsroute,
        t.inschrijfnummer_pseudoniem,
        t.bestand,
        t.blad,
        t.rijnummer,
        t.leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes,
        cast(null as varchar) as quarantaine_reden_parameters
    from {{ ref('stg_swev__toewijzingen') }} as t
    cross join {{ ref('int_peildatum') }} as p
    where t.toewijzingsdatum > p.data_tot
),

quarantaine as (
    select
        q.gemeente_code,
        cast(year(q.toewijzingsdatum) as integer) as jaar,
        'toewijzingen' as kolom,
        false as telt_mee,
        'quarantaine' as reden_code,
        q.reden_nl as reden,
        q.toewijzing_id,
        q.toewijzingsdatum,
        cast(null as varchar) as corporatie,
        q.urgentiecategorie_code as urgentiecategorie,
        q.subcategorie,
        q.toewijzingsroute,
        q.inschrijfnummer_pseudoniem,
        q.bestand,
        q.blad,
        q.rijnummer,
        q.leverdatum,
        q.reden_codes as quarantaine_reden_codes,
        q.reden_parameters as quarantaine_reden_parameters
    from {{ ref('ond_quarantaine') }} as q
    cross join {{ ref('int_peildatum') }} as p
    where q.bron = 'swev' and q.gemeente_code is not null and q.toewijzingsdatum <= p.data_tot
),

urgent as (
    -- the urgent rows are those of onderbouwing.fair_share: fair_share_gemeente sums fair_share
    select
        f.gemeente_code,
        f.jaar,
        f.kolom,
        f.telt_mee,
        f.reden_code,
        f.reden,
        f.toewijzing_id,
        f.toewijzingsdatum,
        f.corporatie,
        f.urgentiecategorie,
        f.subcategorie,
        f.toewijzingsroute,
        f.inschrijfnummer_pseudoniem,
        f.bestand,
        f.blad,
        f.rijnummer,
        f.leverdatum,
        f.quarantaine_reden_codes,
        f.quarantaine_reden_parameters
    from {{ ref('onderbouwing_fair_share') }} as f
),

rijen as (
    select * from toewijzingen
    union all
    select * from na_data_tot
    union all
    select * from quarantaine
    union all
    select * from urgent
)

select
    r.gemeente_code,
    r.jaar,
    r.kolom,
    r.telt_mee,
    r.reden_code,
    r.reden,
    'swev' as bron,
    r.toewijzing_id,
    r.toewijzingsdatum,
    r.corporatie,
    r.urgentiecategorie,
    r.subcategorie,
    r.toewijzingsroute,
    r.inschrijfnummer_pseudoniem,
    r.bestand,
    r.blad,
    r.rijnummer,
    r.leverdatum,
    r.quarantaine_reden_codes,
    r.quarantaine_reden_parameters
from rijen as r
semi join {{ ref('fair_share_gemeente') }} as m on r.gemeente_code = m.gemeente_code and r.jaar = m.jaar
