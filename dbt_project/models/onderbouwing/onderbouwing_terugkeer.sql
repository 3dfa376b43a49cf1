{{ config(alias='terugkeer') }}
-- Per cell of marts.terugkeer (herkomst x jaar): the urgent uitstroom allocations behind uitgestroomd,
-- teruggekeerd and elders_met_contra_indicatie, and those that did not count, with the reason.
with uitstroom as (
    -- the mart's own rows: urgent uitstroom allocations in the agreement's gemeenten, by their herkomst
    -- (telt_mee of the agreement is left out: here telt_mee says whether a row counts in its figure)
    select
        u.* exclude (telt_mee),  -- noqa: RF02
        g.gemeente_naam as woning_gemeente_naam
    from {{ ref('int_urgente_toewijzingen') }} as u
    left join {{ ref('gemeenten') }} as g on u.gemeente_code = g.gemeente_code
    where u.urgentiecategorie = 'uitstroom'
),

geteld as (
    select *, 'uitgestroomd' as kolom, true as telt_mee, null as reden_code, null as reden from uitstroom
    union all
    select
        *,
        'teruggekeerd' as kolom,
        gemeente_code = herkomst as telt_mee,
        case when gemeente_code <> herkomst then 'elders_gehuisvest' end as reden_code,
        case
            when gemeente_code <> herkomst then
                'gehuisvest in ' || coalesce(woning_gemeente_naam, gemeente_code)
                || ', niet in de gemeente van herkomst'
        end as reden
    from uitstroom
    union all
    select
        *,
        'elders_met_contra_indicatie' as kolom,
        true as telt_mee,
        null as reden_code,
        null as reden
    from uitstroom
    where gemeente_code <> herkomst and contra_indicatie
),

-- every loaded urgent-category uitstroom allocation the mart leaves out: housed in a gemeente outside the
-- agreement, by the route statushouder, or after data_tot; herkomst as the mart takes it where it can
toewijzingen as (
    select
        t.*,
        g.gemeente_naam as woning_gemeente_naam,
        coalesce(g.in_afspraak, false) as in_afspraak,
        case
            when coalesce(t.herkomstgemeente, 'onbekend') = 'onbekend' then coalesce(r.herkomstgemeente, 'onbekend')
            else t.herkomstgemeente
        end as herkomst,
        k.commissie as gekoppelde_commissie,
        k.registratie_id as gekoppelde_registratie_id
    from {{ ref('stg_swev__toewijzingen') }} as t
    left join {{ ref('gemeenten') }} as g on t.gemeente_code = g.gemeente_code
    left join {{ ref('int_koppeling') }} as k on t.toewijzing_id = k.toewijzing_id
    left join {{ ref('int_registraties') }} as r on k.commissie = r.commissie and k.registratie_id = r.registratie_id
    where t.urgentiecategorie = 'uitstroom'
),

niet_geteld as (
    select
        t.herkomst,
        t.jaar,
        'uitgestroomd' as kolom,
        false as telt_mee,
        case
            when t.toewijzingsdatum > p.data_tot then 'na_data_tot'
            when t.toewijzingsroute = 'statushouder' then 'statushouder'
            else 'buiten_afspraak_gehuisvest'
        end as reden_code,
        case
            when t.toewijzingsdatum > p.data_tot
                then
                    'toegewezen op ' || strftime(t.toewijzingsdatum, '%d-%m-%Y') || ', na data_tot ('
                    || strftime(p.data_tot, '%d-%m-%Y') || '): telt pas mee in een latere rapportage'
            when t.toewijzingsroute = 'statushouder'
                then 'route statushouder: een statushouder is geen urgent gehuisveste (geen urgentiecategorie)'
            else
                'gehuisvest in ' || coalesce(t.woning_gemeente_naam, t.gemeente_code)
                || ', een gemeente buiten de afspraak'
        end as reden,
        t.toewijzing_id,
        t.toewijzingsdatum,
        t.gemeente_code,
        t.corporatie,
        t.subcategorie,
        t.toewijzingsroute,
        t.gekoppelde_commissie,
        t.gekoppelde_registratie_id,
        t.inschrijfnummer_pseudoniem,
        t.bestand,
        t.blad,
        t.rijnummer,
        t.leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes,
        cast(null as varchar) as quarantaine_reden_parameters
    from toewijzingen as t
    cross join {{ ref('int_peildatum') }} as p
    where t.toewijzingsdatum > p.data_tot or t.toewijzingsroute = 'statushouder' or not t.in_afspraak
),

quarantaine as (
    select
        q.herkomstgemeente as herkomst,
        cast(year(q.toewijzingsdatum) as integer) as jaar,
        'uitgestroomd' as kolom,
        false as telt_mee,
        'quarantaine' as reden_code,
        q.reden_nl as reden,
        q.toewijzing_id,
        q.toewijzingsdatum,
        q.gemeente_code,
        cast(null as varchar) as corporatie,
        q.subcategorie,
        q.toewijzingsroute,
        cast(null as varchar) as gekoppelde_commissie,
        cast(null as varchar) as gekoppelde_registratie_id,
        q.inschrijfnummer_pseudoniem,
        q.bestand,
        q.blad,
        q.rijnummer,
        q.leverdatum,
        q.reden_codes as quarantaine_reden_codes,
        q.reden_parameters as quarantaine_reden_parameters
    from {{ ref('ond_quarantaine') }} as q
    cross join {{ ref('int_peildatum') }} as p
    where
        q.bron = 'swev' and q.gemeente_code is not null and q.urgentiecategorie_code = 'uitstroom'
        and q.toewijzingsdatum <= p.data_tot and coalesce(q.toewijzingsroute, '') <> 'statushouder'
),

rijen as (
    select
        herkomst, jaar, kolom, telt_mee, cast(reden_code as varchar) as reden_code, cast(reden as varchar) as reden,
        toewijzing_id, toewijzingsdatum, gemeente_code, corporatie, subcategorie, toewijzingsroute,
        gekoppelde_commissie, gekoppelde_registratie_id, inschrijfnummer_pseudoniem,
        bestand, blad, rijnummer, leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes, cast(null as varchar) as quarantaine_reden_parameters
    from geteld
    union all
    select * from niet_geteld
    union all
    select * from quarantaine
)

select
    r.herkomst,
    r.jaar,
    r.kolom,
    r.telt_mee,
    r.reden_code,
    r.reden,
    'swev' as bron,
    r.toewijzing_id,
    r.toewijzingsdatum,
    r.gemeente_code,
    r.corporatie,
    r.subcategorie,
    r.toewijzingsroute,
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
semi join {{ ref('terugkeer') }} as m on r.herkomst = m.herkomst and r.jaar = m.jaar
