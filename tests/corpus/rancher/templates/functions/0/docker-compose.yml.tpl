version: '2'
services:
  app:
    image: corral-lab/busybox:1
    command:
{{- range splitPreserveQuotes .Values.ARGS }}
      - {{ . | quote }}
{{- end }}
    environment:
      SLUG: {{ regexReplaceAll "[^a-z0-9]+" (lower .Values.TITLE) "-" | trimAll "-" | quote }}
      TOKEN_B64: {{ b64enc .Values.TITLE | quote }}
      FIRST_HOST: {{ (split "," .Values.HOSTS)._0 | quote }}
      HOST_COUNT: "{{ len (splitList "," .Values.HOSTS) }}"
      SETTINGS: {{ dict "title" .Values.TITLE "hosts" (splitList "," .Values.HOSTS) | toJson | quote }}
      SHORT: {{ abbrev 8 .Values.TITLE | quote }}
      UPPER_FIRST: {{ .Values.HOSTS | splitList "," | first | upper | quote }}
      STACK: {{ .Stack.Name | quote }}
