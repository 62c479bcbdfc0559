{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "ordo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name for every object of the release. */}}
{{- define "ordo.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ordo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ordo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ordo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{- define "ordo.labels" -}}
helm.sh/chart: {{ include "ordo.chart" . }}
{{ include "ordo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ordo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ordo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ordo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects carry the namespace so two releases of the same name cannot collide. */}}
{{- define "ordo.clusterName" -}}
{{- printf "%s-%s-provisioner" .Release.Namespace (include "ordo.fullname" .) }}
{{- end }}

{{/* repository@digest, or repository:tag with the appVersion as default tag. */}}
{{- define "ordo.imageRef" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{- define "ordo.secretName" -}}
{{- default (include "ordo.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "ordo.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "ordo.fullname" .)) .Values.ingress.tls.secretName }}
{{- end }}

{{- define "ordo.tenantsTlsSecretName" -}}
{{- default (printf "%s-tenants-tls" (include "ordo.fullname" .)) .Values.ingress.tenantWildcard.secretName }}
{{- end }}

{{- define "ordo.mailFrom" -}}
{{- default (printf "noreply@%s" .Values.baseDomain) .Values.config.mailFrom }}
{{- end }}

{{/* The placeholder master key of values.yaml; NOTES.txt warns while it is in use. */}}
{{- define "ordo.devMasterKey" -}}
ZGV2LW9ubHktbWFzdGVyLWtleS1kby1ub3QtdXNlISE=
{{- end }}
