-- The urgent allocations fair_share counts (one row each) and whether a registration is linked to them.
select
    cast(toewijzing_id as varchar) as toewijzing_id,
    cast(gemeente_code as varchar) as gemeente_code,
    cast(jaar as integer) as jaar,
    cast(is_gekoppeld as boolean) as is_gekoppeld
from {{ ref('int_urgente_toewijzingen') }}
