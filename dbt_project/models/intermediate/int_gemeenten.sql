-- The eight gemeenten of the agreement (in scope); Barneveld is in the region but not in the agreement.
select gemeente_code, gemeente_naam, commissie
from {{ ref('gemeenten') }}
where in_afspraak
