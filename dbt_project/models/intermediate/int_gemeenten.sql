-- The gemeenten of the region's agreement (in scope); a gemeente in the region but outside the agreement is not.
select gemeente_code, gemeente_naam, commissie
from {{ ref('gemeenten') }}
where in_afspraak
