-- niveau x code x jaar: every headline figure of the board report as a column, each with one definition, so the
-- report, the province and the analyst read the same figure. Rows: each gemeente of the agreement, each
-- ingroeipad group, and the region as a whole. Full precision, plus `_afgerond` columns (one decimal, half away
-- from zero) for presentation. Verdicts use the region's margin (besluitregels op_koers.marge_huishoudens, which the
-- pipeline writes to audit.besluitregels before each build); without it the verdicts are empty.

with eenheden as (
    -- which gemeenten make up each row: a gemeente itself, its ingroeipad group, the region
    select 'gemeente' as niveau, g.gemeente_code as code, g.gemeente_naam as naam, g.gemeente_code
    from {{ ref('int_gemeenten') }} as g
    union all
    select 'groep' as niveau, ig.groep as code, ig.groep as naam, g.gemeente_code
    from {{ ref('int_gemeenten') }} as g
    inner join {{ ref('ingroeipad_groepen') }} as ig on g.gemeente_code = ig.gemeente_code
    union all
    select 'regio' as niveau, r.regio_code as code, r.regio_naam as naam, g.gemeente_code
    from {{ ref('int_gemeenten') }} as g
    cross join {{ ref('regio') }} as r
),

start as (
    -- the first year of the agreement: where the cumulative figures (compensatiesaldo, terugkeer) start
    select min(jaar) as jaar
    from {{ ref('fair_share_gemeente') }}
    where opgave is not null
),

fair_share as (
    select
        e.niveau,
        e.code,
        e.naam,
        f.jaar,
        max(f.maanden_data) as maanden_data,
        sum(f.toewijzingen) as toewijzingen,
        sum(f.gehuisvest) as gehuisvest,
        sum(f.wettelijk_urgent_gehuisvest) as wettelijk_urgent_gehuisvest,
        sum(f.opgave) as opgave,
        -- sums of fractions as decimals: a sum of doubles depends on the order DuckDB's threads add them in, so
        -- two runs over the same data could differ in the last digit
        sum(cast(f.opgave_naar_rato as decimal(38, 18))) as opgave_naar_rato,
        sum(cast(f.verschil as decimal(38, 18))) as verschil,
        -- a gemeente's own share is fair_share_gemeente's; a group's or the region's is the same ratio over its sums
        case
            when e.niveau = 'gemeente' then any_value(f.aandeel_wettelijk_urgent_pct)
            else 100.0 * sum(f.wettelijk_urgent_gehuisvest) / nullif(sum(f.toewijzingen), 0)
        end as aandeel_wettelijk_urgent_pct,
        case
            when e.niveau = 'gemeente' then any_value(f.aandeel_urgent_pct)
            else 100.0 * sum(f.gehuisvest) / nullif(sum(f.toewijzingen), 0)
        end as aandeel_urgent_pct
    from eenheden as e
    inner join {{ ref('fair_share_gemeente') }} as f on e.gemeente_code = f.gemeente_code
    group by e.niveau, e.code, e.naam, f.jaar
),

saldo as (
    select
        e.niveau,
        e.code,
        c.jaar,
        sum(c.cumulatief_gehuisvest) as cumulatief_gehuisvest,
        sum(cast(c.cumulatief_opgave_naar_rato as decimal(38, 18))) as cumulatief_opgave_naar_rato,
        sum(cast(c.saldo as decimal(38, 18))) as saldo
    from eenheden as e
    inner join {{ ref('compensatie_saldo') }} as c on e.gemeente_code = c.gemeente_code
    group by all
),

terugkeer as (
    select
        e.niveau,
        e.code,
        t.jaar,
        sum(t.uitgestroomd) as uitgestroomd,
        sum(t.teruggekeerd) as teruggekeerd
    from eenheden as e
    inner join {{ ref('terugkeer') }} as t on e.gemeente_code = t.herkomst
    group by all
),

terugkeer_cumulatief as (
    select
        t.niveau,
        t.code,
        t.jaar,
        t.uitgestroomd,
        t.teruggekeerd,
        case when t.jaar >= s.jaar then sum(t.uitgestroomd) over w end as uitgestroomd_cumulatief,
        case when t.jaar >= s.jaar then sum(t.teruggekeerd) over w end as teruggekeerd_cumulatief
    from terugkeer as t
    cross join start as s
    window w as (
        partition by t.niveau, t.code, t.jaar >= s.jaar order by t.jaar
        rows between unbounded preceding and current row
    )
),

commissies as (
    -- a gemeente's (and its group's) committee has the gemeente's code; the region also counts the committees that
    -- are no gemeente (regional, advisory)
    select distinct niveau, code, gemeente_code as commissie from eenheden
    union
    select 'regio' as niveau, r.regio_code as code, c.commissie_code as commissie
    from {{ ref('commissies') }} as c
    cross join {{ ref('regio') }} as r
),

doorlooptijd as (
    select
        e.niveau,
        e.code,
        d.jaar,
        sum(d.toegekend) as urgenties_toegekend,
        sum(d.gehuisvest) as urgenties_gehuisvest,
        sum(d.binnen_6_maanden) as binnen_6_maanden
    from {{ ref('doorlooptijd_huisvesting') }} as d
    inner join commissies as e on d.commissie = e.commissie
    group by all
),

ingroeipad as (
    select 'groep' as niveau, groep as code, jaar, afspraak, afspraak_naar_rato, verschil
    from {{ ref('ingroeipad') }}
),

samen as (
    select
        f.*,
        s.cumulatief_gehuisvest,
        s.cumulatief_opgave_naar_rato,
        s.saldo,
        t.uitgestroomd,
        t.teruggekeerd,
        100.0 * t.teruggekeerd / nullif(t.uitgestroomd, 0) as terugkeer_pct,
        t.uitgestroomd_cumulatief,
        t.teruggekeerd_cumulatief,
        100.0 * t.teruggekeerd_cumulatief / nullif(t.uitgestroomd_cumulatief, 0) as terugkeer_cumulatief_pct,
        d.urgenties_toegekend,
        d.urgenties_gehuisvest,
        d.binnen_6_maanden,
        100.0 * d.binnen_6_maanden / nullif(d.urgenties_toegekend, 0) as binnen_6_maanden_pct,
        i.afspraak as ingroeipad_afspraak,
        i.afspraak_naar_rato as ingroeipad_afspraak_naar_rato,
        i.verschil as ingroeipad_verschil,
        -100.0 * i.verschil / nullif(i.afspraak_naar_rato, 0) as ingroeipad_achterstand_pct,
        r.max_aandeel_urgent_pct,
        (
            select max(b.waarde) from {{ source('audit', 'besluitregels') }} as b
            where b.onderdeel = 'op_koers' and b.sleutel = 'marge_huishoudens'
        ) as marge_huishoudens
    from fair_share as f
    cross join {{ ref('regio') }} as r
    left join saldo as s on f.niveau = s.niveau and f.code = s.code and f.jaar = s.jaar
    left join terugkeer_cumulatief as t on f.niveau = t.niveau and f.code = t.code and f.jaar = t.jaar
    left join doorlooptijd as d on f.niveau = d.niveau and f.code = d.code and f.jaar = d.jaar
    left join ingroeipad as i on f.niveau = i.niveau and f.code = i.code and f.jaar = i.jaar
)

select
    cast(niveau as varchar) as niveau,
    cast(code as varchar) as code,
    cast(naam as varchar) as naam,
    cast(jaar as integer) as jaar,
    cast(maanden_data as integer) as maanden_data,
    cast(toewijzingen as bigint) as toewijzingen,
    cast(wettelijk_urgent_gehuisvest as bigint) as wettelijk_urgent_gehuisvest,
    cast(aandeel_wettelijk_urgent_pct as double) as aandeel_wettelijk_urgent_pct,
    cast({{ round_half_away('aandeel_wettelijk_urgent_pct', 1) }} as double) as aandeel_wettelijk_urgent_pct_afgerond,
    cast(max_aandeel_urgent_pct as double) as max_aandeel_urgent_pct,
    cast(aandeel_wettelijk_urgent_pct > max_aandeel_urgent_pct as boolean) as boven_plafond,
    cast(gehuisvest as bigint) as gehuisvest,
    cast(aandeel_urgent_pct as double) as aandeel_urgent_pct,
    cast({{ round_half_away('aandeel_urgent_pct', 1) }} as double) as aandeel_urgent_pct_afgerond,
    cast(opgave as integer) as opgave,
    cast(opgave_naar_rato as double) as opgave_naar_rato,
    cast(verschil as double) as verschil,
    cast(cumulatief_gehuisvest as bigint) as cumulatief_gehuisvest,
    cast(cumulatief_opgave_naar_rato as double) as cumulatief_opgave_naar_rato,
    cast(saldo as double) as saldo,
    cast(case
        when niveau <> 'gemeente' or saldo is null or marge_huishoudens is null then null
        when saldo < -marge_huishoudens then 'achter'
        when saldo > marge_huishoudens then 'voor'
        else 'op koers'
    end as varchar) as oordeel,
    cast(uitgestroomd as bigint) as uitgestroomd,
    cast(teruggekeerd as bigint) as teruggekeerd,
    cast(terugkeer_pct as double) as terugkeer_pct,
    cast({{ round_half_away('terugkeer_pct', 1) }} as double) as terugkeer_pct_afgerond,
    cast(uitgestroomd_cumulatief as bigint) as uitgestroomd_cumulatief,
    cast(teruggekeerd_cumulatief as bigint) as teruggekeerd_cumulatief,
    cast(terugkeer_cumulatief_pct as double) as terugkeer_cumulatief_pct,
    cast({{ round_half_away('terugkeer_cumulatief_pct', 1) }} as double) as terugkeer_cumulatief_pct_afgerond,
    cast(urgenties_toegekend as bigint) as urgenties_toegekend,
    cast(urgenties_gehuisvest as bigint) as urgenties_gehuisvest,
    cast(binnen_6_maanden as bigint) as binnen_6_maanden,
    cast(binnen_6_maanden_pct as double) as binnen_6_maanden_pct,
    cast({{ round_half_away('binnen_6_maanden_pct', 1) }} as double) as binnen_6_maanden_pct_afgerond,
    cast(ingroeipad_afspraak as integer) as ingroeipad_afspraak,
    cast(ingroeipad_afspraak_naar_rato as double) as ingroeipad_afspraak_naar_rato,
    cast(ingroeipad_verschil as double) as ingroeipad_verschil,
    cast(ingroeipad_achterstand_pct as double) as ingroeipad_achterstand_pct,
    cast({{ round_half_away('ingroeipad_achterstand_pct', 1) }} as double) as ingroeipad_achterstand_pct_afgerond,
    cast(case
        when ingroeipad_verschil is null or marge_huishoudens is null then null
        when maanden_data >= 12 and ingroeipad_verschil >= -marge_huishoudens then 'gehaald'
        when maanden_data >= 12 then 'niet gehaald'
        when abs(ingroeipad_verschil) <= marge_huishoudens then 'op schema'
        when ingroeipad_verschil < 0 then 'achter'
        else 'voor'
    end as varchar) as ingroeipad_oordeel,
    cast(marge_huishoudens as double) as marge_huishoudens
from samen
order by niveau, code, jaar
