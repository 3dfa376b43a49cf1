-- herkomstgemeente x jaar: people leaving an institution (category uitstroom) and whether they return to
-- their gemeente of origin (instroom = uitstroom).
with uitstroom as (
    select
        herkomst,
        jaar,
        count(*) as uitgestroomd,
        count(*) filter (where gemeente_code = herkomst) as teruggekeerd,
        count(*) filter (where gemeente_code <> herkomst and contra_indicatie) as elders_met_contra_indicatie
    from {{ ref('int_urgente_toewijzingen') }}
    where urgentiecategorie = 'uitstroom'
    group by all
)

select
    g.gemeente_code as herkomst,
    g.gemeente_naam as herkomst_naam,
    j.jaar,
    cast(coalesce(u.uitgestroomd, 0) as bigint) as uitgestroomd,
    cast(coalesce(u.teruggekeerd, 0) as bigint) as teruggekeerd,
    cast(100.0 * u.teruggekeerd / nullif(u.uitgestroomd, 0) as double) as terugkeer_pct,
    cast(coalesce(u.elders_met_contra_indicatie, 0) as bigint) as elders_met_contra_indicatie
from {{ ref('int_gemeenten') }} as g
cross join {{ ref('int_jaren') }} as j
left join uitstroom as u on g.gemeente_code = u.herkomst and j.jaar = u.jaar
