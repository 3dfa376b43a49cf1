{{ config(alias='fair_share') }}
-- Per cell of marts.fair_share (gemeente x jaar x urgentiecategorie) the allocations behind gehuisvest and
-- gehuisvest_buiten_afspraak, and those that did not count in gehuisvest, with the reason.
with gehuisvest as (
    -- the mart's own rows: the urgent allocations in the agreement's gemeenten, counted by telt_mee
    select
        u.*,
        case when u.telt_mee then 'gehuisvest' else 'gehuisvest_buiten_afspraak' end as kolom,
        true as telt_mee_kolom,
        cast(null as varchar) as reden_code,
        cast(null as varchar) as reden
    from {{ ref('int_urgente_toewijzingen') }} as u
),

buiten_afspraak as (
    select
        u.* exclude (kolom, telt_mee_kolom, reden_code, reden),
        'gehuisvest' as kolom,
        false as telt_mee_kolom,
        'buiten_afspraak' as reden_code,
        -- the reason of the counting rule that excluded it (int_toewijzingen: the most specific one)
        'telt niet mee voor de afspraak: ' || coalesce(u.telt_mee_reden, 'uitgezonderd')
        || ' (telt in gehuisvest_buiten_afspraak)' as reden
    from gehuisvest as u
    where not u.telt_mee
),

categorieen as (
    select distinct urgentiecategorie, wettelijk from {{ ref('urgentiecategorieen') }}
),

toewijzingen as (
    -- every loaded allocation of a legal category in the agreement's gemeenten, also after data_tot
    select t.*, k.wettelijk
    from {{ ref('stg_swev__toewijzingen') }} as t
    inner join {{ ref('int_gemeenten') }} as g on t.gemeente_code = g.gemeente_code
    inner join categorieen as k on t.urgentiecategorie = k.urgentiecategorie
    where k.wettelijk
),

niet_geteld as (
    select
        t.toewijzing_id,
        t.toewijzingsdatum,
        t.jaar,
        t.gemeente_code,
        t.corporatie,
        t.urgentiecategorie,
        t.subcategorie,
        t.toewijzingsroute,
        t.herkomstgemeente as herkomst,
        cast(null as varchar) as gekoppelde_commissie,
        cast(null as varchar) as gekoppelde_registratie_id,
        t.inschrijfnummer_pseudoniem,
        t.bestand,
        t.blad,
        t.rijnummer,
        t.leverdatum,
        case when t.toewijzingsdatum > p.data_tot then 'na_data_tot' else 'statushouder' end as reden_code,
        case
            when t.toewijzingsdatum > p.data_tot
                then
                    'toegewezen op ' || strftime(t.toewijzingsdatum, '%d-%m-%Y') || ', na data_tot ('
                    || strftime(p.data_tot, '%d-%m-%Y') || '): telt pas mee in een latere rapportage'
            else 'route statushouder: een statushouder is geen urgent gehuisveste (geen urgentiecategorie)'
        end as reden,
        cast(null as varchar[]) as quarantaine_reden_codes,
        cast(null as varchar) as quarantaine_reden_parameters
    from toewijzingen as t
    cross join {{ ref('int_peildatum') }} as p
    where t.toewijzingsdatum > p.data_tot or t.toewijzingsroute = 'statushouder'
),

quarantaine as (
    select
        q.toewijzing_id,
        q.toewijzingsdatum,
        cast(year(q.toewijzingsdatum) as integer) as jaar,
        q.gemeente_code,
        cast(null as varchar) as corporatie,
        q.urgentiecategorie_code as urgentiecategorie,
        q.subcategorie,
        q.toewijzingsroute,
        q.herkomstgemeente as herkomst,
        cast(null as varchar) as gekoppelde_commissie,
        cast(null as varchar) as gekoppelde_registratie_id,
        q.inschrijfnummer_pseudoniem,
        q.bestand,
        q.blad,
        q.rijnummer,
        q.leverdatum,
        'quarantaine' as reden_code,
        q.reden_nl as reden,
        q.reden_codes as quarantaine_reden_codes,
        q.reden_parameters as quarantaine_reden_parameters
    from {{ ref('ond_quarantaine') }} as q
    cross join {{ ref('int_peildatum') }} as p
    where
        q.bron = 'swev' and q.gemeente_code is not null and q.wettelijk
        and q.toewijzingsdatum <= p.data_tot and coalesce(q.toewijzingsroute, '') <> 'statushouder'
),

rijen as (
    select
        gemeente_code, jaar, urgentiecategorie, kolom, telt_mee_kolom as telt_mee, reden_code, reden,
        toewijzing_id, toewijzingsdatum, corporatie, subcategorie, toewijzingsroute, herkomst,
        gekoppelde_commissie, gekoppelde_registratie_id, inschrijfnummer_pseudoniem,
        bestand, blad, rijnummer, leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes, cast(null as varchar) as quarantaine_reden_parameters
    from (
        select * from gehuisvest
        union all by name
        select * from buiten_afspraak
    ) as geteld
    union all
    select
        gemeente_code, jaar, urgentiecategorie, 'gehuisvest' as kolom, false as telt_mee, reden_code, reden,
        toewijzing_id, toewijzingsdatum, corporatie, subcategorie, toewijzingsroute, herkomst,
        gekoppelde_commissie, gekoppelde_registratie_id, inschrijfnummer_pseudoniem,
        bestand, blad, rijnummer, leverdatum, quarantaine_reden_codes, quarantaine_reden_parameters
    from (
        select * from niet_geteld
        union all
        select * from quarantaine
    ) as uitgesloten
)

-- only the cells the mart has
select
    r.gemeente_code,
    r.jaar,
    r.urgentiecategorie,
    r.kolom,
    r.telt_mee,
    r.reden_code,
    r.reden,
    'swev' as bron,
    r.toewijzing_id,
    r.toewijzingsdatum,
    r.corporatie,
    r.subcategorie,
    r.toewijzingsroute,
    r.herkomst,
    r.gekoppelde_commissie,
    r.gekoppelde_registratie_id,
    r.inschrijfnummer_pseudoniem,
    r.bestand,
    r.blad,
    r.rijnummer,
    r.leverdatum,
    r.quarantaine_reden_codes,
    r.quarantaine_reden_parameters
from rijen as r
semi join {{ ref('fair_share') }} as m
    on r.gemeente_code = m.gemeente_code and r.jaar = m.jaar and r.urgentiecategorie = m.urgentiecategorie
