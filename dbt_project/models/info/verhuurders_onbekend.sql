-- Landlords not in the seed corporaties (stored as a keyed placeholder), with where to look one up: the
-- gate warns about each (README "Personal data").
select
    cast(t.corporatie as varchar) as corporatie,
    count(*) as toewijzingen,
    cast(first(r._pad order by r._pad, r._rijnummer) as varchar) as pad,
    cast(first(r._rijnummer order by r._pad, r._rijnummer) as bigint) as rijnummer
from {{ ref('int_toewijzingen') }} as t
left join {{ source('raw', 'swev_toewijzingen_actueel') }} as r on t.toewijzing_id = r.toewijzing_id
where t.corporatie_onbekend
group by 1
