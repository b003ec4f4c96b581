version: '2'
services:
  signal:
    image: corral-lab/web:1
    environment:
      ROOM: ${ROOM_NAME}
      LOG_LEVEL: ${LOG_LEVEL}
      KV_SERVICE: ${KV_SERVICE}
      KV_PASSWORD: ${KV_PASSWORD}
      MOTD: ${MOTD}
      TLS_CERT: ${TLS_CERT}
    ports:
      - ${PUBLIC_PORT}:80/tcp
    links:
      - kv:kv
    labels:
      # Spread: prefer hosts that do not already run a container of this service.
      io.rancher.scheduler.affinity:container_label_soft_ne: io.rancher.stack_service.name=$${stack_name}/$${service_name}
  media:
    image: corral-lab/worker:1
    environment:
      RATE: "${MEDIA_RATE}"
      ROOM: ${ROOM_NAME}
{{- range $i, $e := until (atoi .Values.MEDIA_CHANNELS) }}
      CHANNEL_{{ $i }}: "{{ $.Values.ROOM_NAME }}-{{ $i }}"
{{- end }}
    labels:
      io.rancher.scheduler.affinity:host_label: role=media
      io.rancher.sidekicks: media-recorder
  media-recorder:
    image: corral-lab/busybox:1
    command: sh -c 'while true; do date >> /rec/recording.log; sleep 5; done'
    volumes:
      - /rec
  kv:
    image: corral-lab/busybox:1
    command: ["sh", "-c", "mkdir -p /data && echo ok > /data/health && exec httpd -f -p 6379 -h /data"]
    environment:
      KV_PASSWORD: ${KV_PASSWORD}
    expose:
      - "6379"
    volumes:
      - kv-data:/data
{{- if eq .Values.ENABLE_LOG_SHIPPER "true" }}
  log-shipper:
    image: corral-lab/worker:1
    environment:
      RATE: "1"
      SOURCE: ${ROOM_NAME}
    labels:
      io.rancher.scheduler.global: 'true'
{{- end }}
volumes:
  kv-data:
    driver: local
