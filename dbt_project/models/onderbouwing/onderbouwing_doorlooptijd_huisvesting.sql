{{ config(alias='doorlooptijd_huisvesting') }}
-- Per cell of marts.doorlooptijd_huisvesting (commissie x jaar of besluitdatum x urgentiecategorie): the granted
-- registrations behind toegekend, gehuisvest, binnen_6_maanden, nog_wachtend and verlopen, and those that did
-- not count, with the reason.
with toegekend as (
    -- the mart's own rule: which allocation houses a registration (the macro toegekend_huisvesting, also read by
    -- marts.doorlooptijd_huisvesting); tests/test_uitleg.py compares every cell
    {{ toegekend_huisvesting() }}
),

registraties as (
    select
        t.*,
        t.toewijzingsdatum - t.besluitdatum as wachttijd_dagen,
        t.gehuisvest and t.toewijzingsdatum - t.besluitdatum <= 183 as binnen_6_maanden,
        not t.gehuisvest and (t.geldig_tot is null or t.geldig_tot >= p.data_tot) as nog_wachtend,
        not t.gehuisvest and t.geldig_tot < p.data_tot as verlopen,
        s.bestand,
        s.blad,
        s.rijnummer,
        s.leverdatum
    from toegekend as t
    cross join {{ ref('int_peildatum') }} as p
    inner join {{ ref('stg_urgentie__registraties') }} as s
        on t.commissie = s.commissie and t.registratie_id = s.registratie_id
),

geteld as (
    select *, 'toegekend' as kolom, true as telt_mee, null as reden_code, null as reden from registraties
    union all
    select
        *,
        'gehuisvest' as kolom,
        gehuisvest as telt_mee,
        case when not gehuisvest then 'niet_gekoppeld' end as reden_code,
        case
            when not gehuisvest then
                'niet gekoppeld aan een urgente toewijzing (telt als '
                || case when verlopen then 'verlopen' else 'nog wachtend' end || ')'
        end as reden
    from registraties
    union all
    select
        *,
        'binnen_6_maanden' as kolom,
        binnen_6_maanden as telt_mee,
        case when not binnen_6_maanden then 'na_6_maanden' end as reden_code,
        case
            when not binnen_6_maanden then
                'gehuisvest na ' || wachttijd_dagen
                || ' dagen (meer dan 183 dagen na het besluit)'
        end as reden
    from registraties
    where gehuisvest
    union all
    select *, 'nog_wachtend' as kolom, true as telt_mee, null as reden_code, null as reden
    from registraties
    where nog_wachtend
    union all
    select *, 'verlopen' as kolom, true as telt_mee, null as reden_code, null as reden
    from registraties
    where verlopen
),

categorieen as (
    select distinct urgentiecategorie, wettelijk from {{ ref('urgentiecategorieen') }}
),

na_data_tot as (
    -- granted with a legal category, but decided after data_tot: in behandeling as of P
    select
        coalesce(c.commissie_code, s.commissie) as commissie_code,
        cast(year(s.besluitdatum) as integer) as jaar,
        s.urgentiecategorie,
        'toegekend' as kolom,
        false as telt_mee,
        'besluit_na_data_tot' as reden_code,
        'toegekend op ' || strftime(s.besluitdatum, '%d-%m-%Y') || ', na data_tot ('
        || strftime(p.data_tot, '%d-%m-%Y') || '): telt op de peildatum als in behandeling' as reden,
        s.commissie,
        s.registratie_id,
        s.subcategorie,
        s.besluitdatum,
        s.geldig_tot,
        s.inschrijfnummer_pseudoniem,
        s.bestand,
        s.blad,
        s.rijnummer,
        s.leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes,
        cast(null as varchar) as quarantaine_reden_parameters
    from {{ ref('stg_urgentie__registraties') }} as s
    cross join {{ ref('int_peildatum') }} as p
    inner join categorieen as k on s.urgentiecategorie = k.urgentiecategorie
    left join {{ ref('commissies') }} as c on s.commissie = c.commissie
    where s.besluit = 'toegekend' and k.wettelijk and s.besluitdatum > p.data_tot
),

quarantaine as (
    select
        q.commissie_code,
        cast(year(q.besluitdatum) as integer) as jaar,
        q.urgentiecategorie_code as urgentiecategorie,
        'toegekend' as kolom,
        false as telt_mee,
        'quarantaine' as reden_code,
        q.reden_nl as reden,
        q.registratie_commissie as commissie,
        q.registratie_id,
        q.subcategorie,
        q.besluitdatum,
        cast(null as date) as geldig_tot,
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
        q.bron = 'urgentie' and q.commissie_code is not null and q.wettelijk and q.besluit = 'toegekend'
        and q.besluitdatum <= p.data_tot
),

rijen as (
    select
        commissie_code, cast(year(besluitdatum) as integer) as jaar, urgentiecategorie, kolom, telt_mee,
        cast(reden_code as varchar) as reden_code, cast(reden as varchar) as reden,
        commissie, registratie_id, subcategorie, besluitdatum, geldig_tot, inschrijfnummer_pseudoniem,
        toewijzing_id, toewijzingsdatum, gemeente_code, wachttijd_dagen,
        bestand, blad, rijnummer, leverdatum,
        cast(null as varchar[]) as quarantaine_reden_codes, cast(null as varchar) as quarantaine_reden_parameters
    from geteld
    union all by name
    select * from na_data_tot
    union all by name
    select * from quarantaine
)

select
    r.commissie_code as commissie,
    r.jaar,
    r.urgentiecategorie,
    r.kolom,
    r.telt_mee,
    r.reden_code,
    r.reden,
    'urgentie' as bron,
    r.commissie as registratie_commissie,
    r.registratie_id,
    r.subcategorie,
    r.besluitdatum,
    r.geldig_tot,
    r.inschrijfnummer_pseudoniem,
    r.toewijzing_id,
    r.toewijzingsdatum,
    r.gemeente_code,
    cast(r.wachttijd_dagen as integer) as wachttijd_dagen,
    r.bestand,
    r.blad,
    r.rijnummer,
    r.leverdatum,
    r.quarantaine_reden_codes,
    r.quarantaine_reden_parameters
from rijen as r
semi join {{ ref('doorlooptijd_huisvesting') }} as m
    on r.commissie_code = m.commissie and r.jaar = m.jaar and r.urgentiecategorie = m.urgentiecategorie
