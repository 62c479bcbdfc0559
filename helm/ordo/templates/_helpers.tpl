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

{{/*
Refuses combinations the control plane cannot serve, with a message that says
what to change. Included by deployment.yaml, so every render runs it.
*/}}
{{- define "ordo.validate" -}}
{{- if eq .Values.provisioner "local" }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount is %d, but provisioner is local: portals are served in-process by the replica that provisioned them, so a second replica would answer 404 for them. Use replicaCount: 1, or provisioner: kubernetes for 2 or more replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- else if eq .Values.provisioner "kubernetes" }}
{{- if .Values.ingress.tenantWildcard.enabled }}
{{- fail "ingress.tenantWildcard.enabled is for the local provisioner only: with provisioner: kubernetes every tenant gets its own Ingress (and suspended portals are routed to the control plane by it). Set ingress.tenantWildcard.enabled: false." }}
{{- end }}
{{- range $name := list "database" "smtp" }}
{{- $target := index $.Values.tenants $name }}
{{- if eq (empty $target.cidr) (empty $target.namespace) }}
{{- fail (printf "tenants.%s needs exactly one of cidr or namespace (the other empty): where tenant pods may connect." $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The TOML file at ORDO_CONFIG: the settings that are structured (maps, nested
tables) and so do not fit environment variables. Keys are the control plane's
(control-plane/src/config.rs, provisioning/kubernetes/settings.rs); serde ignores
unknown keys, so .ci/helm-check compares the rendered keys with a fixed list.
*/}}
{{- define "ordo.configToml" -}}
{{- $t := .Values.tenants }}
{{- $config := dict "provisioner" .Values.provisioner "reconcile_interval_secs" (int64 $t.reconcileIntervalSecs) }}
{{- $j := .Values.jobs }}
{{- $_ := set $config "jobs" (dict
      "enabled" $j.enabled
      "tick_secs" (int64 $j.tickSecs)
      "stale_after_secs" (int64 $j.staleAfterSecs)
      "usage_snapshot" $j.usageSnapshot
      "trial_lifecycle" $j.trialLifecycle
      "monthly_invoices" $j.monthlyInvoices
      "dunning" $j.dunning) }}
{{- $b := .Values.billing }}
{{- $billing := dict
      "seller_name" $b.sellerName
      "seller_street" $b.sellerStreet
      "seller_postcode" (toString $b.sellerPostcode)
      "seller_city" $b.sellerCity
      "seller_country" $b.sellerCountry
      "seller_vat_id" $b.sellerVatId
      "seller_tax_number" $b.sellerTaxNumber
      "seller_register_court" $b.sellerRegisterCourt
      "seller_register_number" $b.sellerRegisterNumber
      "seller_email" $b.sellerEmail
      "seller_phone" (toString $b.sellerPhone)
      "seller_contact" $b.sellerContact
      "bank_account_holder" $b.bankAccountHolder
      "iban" $b.iban
      "bic" $b.bic
      "bank_name" $b.bankName
      "legal_info" $b.legalInfo
      "payment_days" (int64 $b.paymentDays)
      "dunning_first_days" (int64 $b.dunningFirstDays)
      "dunning_second_days" (int64 $b.dunningSecondDays)
      "dunning_suspend_days" (int64 $b.dunningSuspendDays) }}
{{- with $b.contractTemplate }}
{{- $_ := set $billing "contract_template" . }}
{{- end }}
{{- $_ := set $config "billing" $billing }}
{{- if eq .Values.provisioner "kubernetes" }}
{{- $plans := dict }}
{{- range $key, $plan := dict "trial" $t.plans.trial "pay_per_use" $t.plans.payPerUse "premium_starter" $t.plans.premiumStarter "premium" $t.plans.premium }}
{{- $_ := set $plans $key (dict
      "cpu_request" (toString $plan.cpuRequest)
      "cpu_limit" (toString $plan.cpuLimit)
      "memory_request" (toString $plan.memoryRequest)
      "memory_limit" (toString $plan.memoryLimit)
      "storage" (toString $plan.storage)) }}
{{- end }}
{{- $kubernetes := dict
      "image" (include "ordo.imageRef" (list $t.image .))
      "image_pull_policy" $t.image.pullPolicy
      "namespace_prefix" $t.namespacePrefix
      "control_plane_namespace" .Release.Namespace
      "control_plane_service" (include "ordo.fullname" .)
      "control_plane_port" (int64 .Values.service.port)
      "control_plane_pod_labels" (include "ordo.selectorLabels" . | fromYaml)
      "ingress_namespace" $t.ingress.namespace
      "ingress_class" $t.ingress.className
      "ingress_annotations" $t.ingress.annotations
      "cluster_issuer" $t.clusterIssuer
      "storage_class" $t.storageClass
      "database" (dict "cidr" $t.database.cidr "namespace" $t.database.namespace "port" (int64 $t.database.port))
      "smtp" (dict "cidr" $t.smtp.cidr "namespace" $t.smtp.namespace "port" (int64 $t.smtp.port))
      "plans" $plans
      "request_timeout_ms" (int64 $t.requestTimeoutMs)
      "max_attempts" (int64 $t.maxAttempts)
      "backoff_initial_ms" (int64 $t.backoffInitialMs)
      "backoff_max_ms" (int64 $t.backoffMaxMs)
      "ready_timeout_secs" (int64 $t.readyTimeoutSecs)
      "poll_interval_ms" (int64 $t.pollIntervalMs) }}
{{- $_ := set $config "kubernetes" $kubernetes }}
{{- end }}
{{- toToml $config }}
{{- end }}
