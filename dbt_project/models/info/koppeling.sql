-- Which registration each urgent allocation was linked to (spec/marts.md, "Linking").
select
    cast(toewijzing_id as varchar) as toewijzing_id,
    cast(commissie as varchar) as commissie,
    cast(registratie_id as varchar) as registratie_id
from {{ ref('int_koppeling') }}
