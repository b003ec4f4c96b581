{{- $replicas := atoi .Values.WORKERS -}}
{{- $names := list -}}
{{- range $i := until $replicas }}{{ $names = append $names (printf "w%02d" $i) }}{{ end -}}
worker:
  image: corral-lab/worker:1
  environment:
    WORKERS: {{ join " " $names | quote }}
    REVERSED: {{ reverse $names | join "," | quote }}
    HAS_W01: "{{ has "w01" $names }}"
    KIND: {{ kindOf $names | quote }}
    SUM: "{{ add 1 2 3 }}"
    MODE: {{ ternary "fancy" "plain" (eq (default "plain" .Values.MODE) "fancy") | quote }}
    TITLE: {{ .Values.NAME | snakecase | quote }}
    SHA: {{ sha256sum .Values.NAME | trunc 12 | quote }}
    PATH_BASE: {{ base "/srv/data/file.txt" | quote }}
