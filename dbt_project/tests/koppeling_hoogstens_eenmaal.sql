-- Invariant: an allocation links to at most one registration, and a registration to at most one allocation.
select 'toewijzing' as kant, toewijzing_id as sleutel, count(*) as n
from {{ ref('int_koppeling') }}
group by all
having count(*) > 1
union all
select 'registratie', commissie || '/' || registratie_id, count(*)
from {{ ref('int_koppeling') }}
group by all
having count(*) > 1
