-- Housing plans per planregister snapshot (peildatum). The plan name is not loaded (free text, no mart uses it).
select
    peildatum,
    plan_id,
    gemeente as gemeente_code,
    status,
    oplevering_jaar,
    aantal_woningen,
    coalesce(sociale_huur, 0) as sociale_huur,
    coalesce(sociale_huur_tot_aftoppingsgrens, 0) as sociale_huur_tot_aftoppingsgrens,
    coalesce(middenhuur, 0) as middenhuur,
    coalesce(betaalbare_koop, 0) as betaalbare_koop,
    coalesce(nultreden, 0) as nultreden,
    coalesce(zorggeschikt, 0) as zorggeschikt,
    coalesce(geclusterd, 0) as geclusterd,
    coalesce(transformatie, false) as transformatie
from {{ source('raw', 'planregister_plannen_actueel') }}
