-- gemeente x verdeelsleutel: what the obvious distribution keys would ask of each gemeente out of the
-- regional total (principle 6 of the slides), beside the published agreement. The regional total is the sum
-- of the first period's agreed ingroeipad figures (never a literal); the keys shown are the region's choice
-- (seed verdeelsleutel_keuze). A key per period of the agreement (afspraak_2025_2026) is the choice `afspraak`
-- of verdeelsleutel_keuze for that period: verdeelsleutel_keuze and periode say so, verdeelsleutel_naam names it.
with regionaal as (
    select sum(afspraak) as totaal
    from {{ ref('ingroeipad_afspraak') }}
    where jaar_van = (select min(e.jaar_van) from {{ ref('ingroeipad_afspraak') }} as e)
),

periode_nu as (
    select o.periode
    from {{ ref('opgaven') }} as o
    cross join {{ ref('int_peildatum') }} as p
    where p.jaar_data_tot between o.jaar_van and o.jaar_tot
    order by o.periode
    limit 1
),

afspraak as (
    select gemeente_code, periode, sum(opgave) as totaal, max(vastgesteld_op) as vastgesteld_op
    from {{ ref('opgaven') }}
    group by all
),

laatste_vol_jaar as (
    select max(jaar) as jaar from {{ ref('int_jaren') }}
    where maanden_data = 12
),

sleutels as (
    select
        i.gemeente_code, 'inwoners' as verdeelsleutel, 'inwoners' as verdeelsleutel_keuze,
        cast(null as varchar) as periode, cast(i.inwoners as double) as waarde, i.peildatum as peildatum_sleutel
    from {{ ref('inwoners') }} as i
    union all
    select
        v.gemeente_code, 'sociale_huurvoorraad' as verdeelsleutel, 'sociale_huurvoorraad' as verdeelsleutel_keuze,
        null as periode, cast(v.sociale_huurwoningen as double) as waarde, v.peildatum as peildatum_sleutel
    from {{ ref('sociale_huurvoorraad') }} as v
    union all
    select
        g.gemeente_code, 'toewijzingen' as verdeelsleutel, 'toewijzingen' as verdeelsleutel_keuze, null as periode,
        cast(count(t.toewijzing_id) as double) as waarde, make_date(l.jaar, 12, 31) as peildatum_sleutel
    from {{ ref('int_gemeenten') }} as g
    cross join laatste_vol_jaar as l
    left join {{ ref('int_toewijzingen') }} as t on g.gemeente_code = t.gemeente_code and l.jaar = t.jaar
    group by all
    union all
    select
        gemeente_code, 'afspraak_' || replace(periode, '-', '_') as verdeelsleutel, 'afspraak' as verdeelsleutel_keuze,
        periode, cast(totaal as double) as waarde, vastgesteld_op as peildatum_sleutel
    from afspraak
),

aandelen as (
    select
        s.gemeente_code,
        g.gemeente_naam,
        s.verdeelsleutel,
        s.verdeelsleutel_keuze,
        s.periode,
        s.peildatum_sleutel,
        100.0 * s.waarde / sum(s.waarde) over (partition by s.verdeelsleutel) as aandeel_pct
    from sleutels as s
    inner join {{ ref('int_gemeenten') }} as g on s.gemeente_code = g.gemeente_code
    inner join {{ ref('verdeelsleutel_keuze') }} as k
        on s.verdeelsleutel_keuze = k.verdeelsleutel and k.getoond
)

select
    a.gemeente_code,
    a.gemeente_naam,
    a.verdeelsleutel,
    -- the label of the key, with its period for a key per period (Afspraak 2025–2026)
    coalesce(c.naam, a.verdeelsleutel_keuze) || coalesce(' ' || replace(a.periode, '-', '–'), '') as verdeelsleutel_naam,
    a.verdeelsleutel_keuze,
    a.periode,
    cast(a.aandeel_pct as double) as aandeel_pct,
    cast(r.totaal * a.aandeel_pct / 100 as double) as opgave_bij_227,
    cast(r.totaal * a.aandeel_pct / 100 - nu.totaal as double) as verschil_met_afspraak,
    a.peildatum_sleutel,
    cast(r.totaal as integer) as regionaal_totaal,
    cast(r.totaal * a.aandeel_pct / 100 as double) as opgave_bij_regionaal_totaal
from aandelen as a
cross join regionaal as r
left join {{ ref('codelijst') }} as c on c.domein = 'verdeelsleutel' and a.verdeelsleutel_keuze = c.code
left join afspraak as nu
    on a.gemeente_code = nu.gemeente_code and nu.periode = (select periode from periode_nu)
