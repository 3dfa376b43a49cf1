-- gemeente x jaar: all allocations, urgent housed against the target, and the share of urgent allocations.
with toewijzingen as (
    select gemeente_code, jaar, count(*) as toewijzingen
    from {{ ref('int_toewijzingen') }}
    group by all
),

per_gemeente as (
    select
        gemeente_code,
        gemeente_naam,
        jaar,
        maanden_data,
        sum(gehuisvest) as gehuisvest,
        sum(gehuisvest_buiten_afspraak) as gehuisvest_buiten_afspraak,
        sum(opgave) as opgave
    from {{ ref('fair_share') }}
    group by all
)

select
    f.gemeente_code,
    f.gemeente_naam,
    f.jaar,
    f.maanden_data,
    cast(coalesce(t.toewijzingen, 0) as bigint) as toewijzingen,
    cast(f.gehuisvest as bigint) as gehuisvest,
    cast(f.opgave as integer) as opgave,
    cast(f.opgave * f.maanden_data / 12.0 as double) as opgave_naar_rato,
    cast(f.gehuisvest - f.opgave * f.maanden_data / 12.0 as double) as verschil,
    cast(100.0 * f.gehuisvest / nullif(t.toewijzingen, 0) as double) as aandeel_urgent_pct,
    cast({{ round_half_away('100.0 * f.opgave / nullif(b.toewijzingen_2024, 0)', 1) }} as double) as verwacht_aandeel_pct,
    -- The urgent share on the legal basis (also what does not count toward the agreement): the one figure the
    -- report holds against the region's cap and the province compares regions by (issue 21).
    cast(f.gehuisvest_buiten_afspraak as bigint) as gehuisvest_buiten_afspraak,
    cast(f.gehuisvest + f.gehuisvest_buiten_afspraak as bigint) as wettelijk_urgent_gehuisvest,
    cast(100.0 * (f.gehuisvest + f.gehuisvest_buiten_afspraak) / nullif(t.toewijzingen, 0) as double)
        as aandeel_wettelijk_urgent_pct
from per_gemeente as f
left join toewijzingen as t on f.gemeente_code = t.gemeente_code and f.jaar = t.jaar
left join {{ ref('basis_toewijzingen_2024') }} as b on f.gemeente_code = b.gemeente_code
