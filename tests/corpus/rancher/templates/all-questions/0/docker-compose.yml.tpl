app:
  image: corral-lab/web:1
  environment:
    S: ${S}
    I: "{{ mul (atoi .Values.I) 2 }}"
    B: ${B}
    E: ${E}
    M: {{ .Values.M | quote }}
{{- if eq .Values.B "true" }}
    FLAG: "on"
{{- end }}
