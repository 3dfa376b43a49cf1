{# Round half away from zero (6.25 -> 6.3), as the contract states; DuckDB's round() on doubles can go either way. #}
{% macro round_half_away(expr, digits) -%}
    (sign({{ expr }}) * floor(abs({{ expr }}) * power(10, {{ digits }}) + 0.5 + 1e-9) / power(10, {{ digits }}))
{%- endmacro %}
