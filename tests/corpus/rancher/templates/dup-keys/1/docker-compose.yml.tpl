app:
  image: corral-lab/web:1
{{- if true }}
  restart: always
{{- end }}
  restart: unless-stopped
