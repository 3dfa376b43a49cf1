-- The published per-gemeente targets are rounded; per period they may differ from the agreed totals
-- by at most 1 (reference.md §3). More than that means a seed was mistyped.
{{ config(severity='error') }}
select * from {{ ref('int_opgaven_reconciliatie') }} where abs(verschil) > 1
