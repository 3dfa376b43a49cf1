-- gemeente x jaar x wettelijke urgentiecategorie: urgent housed against the annual target.
with categorieen as (
    select distinct urgentiecategorie from {{ ref('urgentiecategorieen') }}
    where wettelijk
),

grid as (
    select g.gemeente_code, g.gemeente_naam, j.jaar, j.maanden_data, c.urgentiecategorie
    from {{ ref('int_gemeenten') }} as g
    cross join {{ ref('int_jaren') }} as j
    cross join categorieen as c
),

gehuisvest as (
    select
        gemeente_code,
        jaar,
        urgentiecategorie,
        count(*) filter (where telt_mee) as gehuisvest,
        count(*) filter (where not telt_mee) as gehuisvest_buiten_afspraak
    from {{ ref('int_urgente_toewijzingen') }}
    group by all
)

select
    grid.gemeente_code,
    grid.gemeente_naam,
    grid.jaar,
    grid.urgentiecategorie,
    grid.maanden_data,
    cast(coalesce(h.gehuisvest, 0) as bigint) as gehuisvest,
    cast(coalesce(h.gehuisvest_buiten_afspraak, 0) as bigint) as gehuisvest_buiten_afspraak,
    cast(o.opgave as integer) as opgave,
    cast(o.opgave * grid.maanden_data / 12.0 as double) as opgave_naar_rato,
    cast(coalesce(h.gehuisvest, 0) - o.opgave * grid.maanden_data / 12.0 as double) as verschil
from grid
left join gehuisvest as h
    on grid.gemeente_code = h.gemeente_code and grid.jaar = h.jaar and grid.urgentiecategorie = h.urgentiecategorie
left join {{ ref('int_opgaven') }} as o
    on grid.gemeente_code = o.gemeente_code and grid.jaar = o.jaar and grid.urgentiecategorie = o.urgentiecategorie
