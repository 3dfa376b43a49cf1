-- commissie x jaar of besluitdatum x wettelijke categorie: from granted urgency to a home.
-- A registration is housed when the linking gave it an urgent allocation in any gemeente of the region, also one
-- outside the agreement (the macro toegekend_huisvesting); the gemeenten outside the agreement are named.
with toegekend as (
    -- granted registrations and the allocation that housed them: the rule is the macro toegekend_huisvesting's
    {{ toegekend_huisvesting() }}
),

per_cel as (
    select
        t.commissie_code,
        cast(year(t.besluitdatum) as integer) as jaar,
        t.urgentiecategorie,
        count(*) as toegekend,
        count(*) filter (where t.gehuisvest) as gehuisvest,
        count(*) filter (where t.gehuisvest and t.toewijzingsdatum - t.besluitdatum <= 183) as binnen_6_maanden,
        median(t.toewijzingsdatum - t.besluitdatum) filter (where t.gehuisvest) as mediane_wachttijd_dagen,
        count(*) filter (where not t.gehuisvest and (t.geldig_tot is null or t.geldig_tot >= p.data_tot))
            as nog_wachtend,
        count(*) filter (where not t.gehuisvest and t.geldig_tot < p.data_tot) as verlopen,
        count(*) filter (where t.buiten_afspraak) as gehuisvest_in_gemeente_buiten_afspraak,
        list(distinct t.gemeente_buiten_afspraak) filter (where t.buiten_afspraak) as gemeenten_buiten_afspraak
    from toegekend as t
    cross join {{ ref('int_peildatum') }} as p
    group by all
),

commissie_namen as (
    -- one name per committee code (a code shared by two keys must not split a row)
    select commissie_code, min(naam) as naam from {{ ref('commissies') }}
    group by commissie_code
),

namen as (
    -- the gemeenten outside the agreement in code order, their names in the same order
    select
        c.commissie_code,
        c.jaar,
        c.urgentiecategorie,
        string_agg(g.gemeente_code, ', ' order by g.gemeente_code) as codes,
        string_agg(coalesce(g.gemeente_naam, g.gemeente_code), ', ' order by g.gemeente_code) as namen
    from (
        select commissie_code, jaar, urgentiecategorie, unnest(gemeenten_buiten_afspraak) as gemeente_code
        from per_cel
    ) as c
    left join {{ ref('gemeenten') }} as g on c.gemeente_code = g.gemeente_code
    group by all
)

select
    c.commissie_code as commissie,
    c.commissie_code,
    coalesce(k.naam, c.commissie_code) as commissie_naam,
    c.jaar,
    c.urgentiecategorie,
    cast(c.toegekend as bigint) as toegekend,
    cast(c.gehuisvest as bigint) as gehuisvest,
    cast(c.binnen_6_maanden as bigint) as binnen_6_maanden,
    cast(c.mediane_wachttijd_dagen as double) as mediane_wachttijd_dagen,
    cast(c.nog_wachtend as bigint) as nog_wachtend,
    cast(c.verlopen as bigint) as verlopen,
    cast(c.gehuisvest_in_gemeente_buiten_afspraak as bigint) as gehuisvest_in_gemeente_buiten_afspraak,
    n.codes as gemeente_buiten_afspraak_codes,
    n.namen as gemeente_buiten_afspraak_namen
from per_cel as c
left join namen as n
    on c.commissie_code = n.commissie_code and c.jaar = n.jaar and c.urgentiecategorie = n.urgentiecategorie
left join commissie_namen as k on c.commissie_code = k.commissie_code
