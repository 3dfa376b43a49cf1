-- Invariant: each column of the suitability funnel is a subset of the one before.
select *
from {{ ref('toewijzingen_geschiktheid') }}
where swev > toewijzingen
    or swev_max_3_kamers > swev
    or tot_hoge_aftoppingsgrens > swev_max_3_kamers
    or tot_lage_aftoppingsgrens > tot_hoge_aftoppingsgrens
    or tot_lage_gelabeld > tot_lage_aftoppingsgrens
    or boven_lage_gepersonaliseerd > swev_max_3_kamers - tot_lage_aftoppingsgrens
