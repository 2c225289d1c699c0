{{- define "citewise.env" -}}
{{- range $key, $value := .Values.settings }}
- name: CITEWISE_{{ $key }}
  value: {{ $value | quote }}
{{- end }}
- name: CITEWISE_INDEX__URL
  value: {{ default (printf "http://%s-qdrant:6333" .Release.Name) .Values.externalQdrantUrl | quote }}
- name: CITEWISE_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ .Release.Name }}-citewise, key: databaseUrl}}
- name: CITEWISE_JOBS__BROKER_URL
  valueFrom: {secretKeyRef: {name: {{ .Release.Name }}-citewise, key: brokerUrl}}
- name: CITEWISE_INDEX__API_KEY
  valueFrom: {secretKeyRef: {name: {{ .Release.Name }}-citewise, key: qdrantApiKey}}
{{- end -}}
