-- Allocations up to data_tot with the flags every mart uses: in scope, SWEV, urgent, telt_mee.
with categorieen as (
    select distinct urgentiecategorie, wettelijk from {{ ref('urgentiecategorieen') }}
)

select
    t.*,
    coalesce(g.in_afspraak, false) as in_scope,
    coalesce(c.is_swev, false) as is_swev,
    c.corporatie is null as corporatie_onbekend,
    coalesce(k.wettelijk, false) as wettelijk,
    -- wettelijk urgent gehuisvest: a legal category, by any route but statushouder, with any landlord
    coalesce(k.wettelijk, false) and t.toewijzingsroute <> 'statushouder' as is_urgent,
    not exists (
        select 1
        from {{ ref('telt_mee_uitzonderingen') }} as u
        where
            (u.gemeente_code = '*' or u.gemeente_code = t.gemeente_code)
            and u.subcategorie = t.subcategorie
    ) as telt_mee
from {{ ref('stg_swev__toewijzingen') }} as t
cross join {{ ref('int_peildatum') }} as p
left join {{ ref('gemeenten') }} as g on t.gemeente_code = g.gemeente_code
left join {{ ref('corporaties') }} as c on lower(trim(t.corporatie)) = lower(trim(c.corporatie))
left join categorieen as k on t.urgentiecategorie = k.urgentiecategorie
where t.toewijzingsdatum <= p.data_tot
