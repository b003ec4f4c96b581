version: '2'
services:
  web:
    image: corral-lab/web:1
{{- if eq .Values.PUBLISH "true" }}
    ports:
      - ${PORT}:80
{{- else }}
    expose:
      - "80"
{{- end }}
    labels:
      io.rancher.scheduler.affinity:container_label_soft_ne: io.rancher.stack_service.name=$${stack_name}/$${service_name}
