{{/* Names ------------------------------------------------------------------------------------- */}}
{{- define "kms-why.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kms-why.fullname" -}}
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

{{- define "kms-why.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Slack-facing component is named after the process it runs: web (HTTP) or socket. */}}
{{- define "kms-why.slackComponent" -}}
{{- if eq .Values.slack.mode "socket" }}socket{{ else }}web{{ end }}
{{- end }}

{{/* Labels: call with (dict "ctx" $ "component" "web") ------------------------------------------- */}}
{{- define "kms-why.labels" -}}
helm.sh/chart: {{ include "kms-why.chart" .ctx }}
{{ include "kms-why.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: kms-why
{{- end }}

{{- define "kms-why.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kms-why.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "kms-why.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kms-why.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kms-why.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "kms-why.slackSecretName" -}}
{{- default (printf "%s-slack" (include "kms-why.fullname" .)) .Values.slack.existingSecret }}
{{- end }}

{{/* Checks the schema cannot express across values; a wrong combination fails the install. -------- */}}
{{- define "kms-why.validate" -}}
{{- if and (eq .Values.slack.mode "socket") (lt (int .Values.web.replicaCount) 2) }}
{{- fail "slack.mode=socket needs web.replicaCount >= 2, so a Socket Mode connection stays open during roll-outs" }}
{{- end }}
{{- if and (eq .Values.slack.mode "socket") .Values.web.autoscaling.enabled (lt (int .Values.web.autoscaling.minReplicas) 2) }}
{{- fail "slack.mode=socket needs web.autoscaling.minReplicas >= 2" }}
{{- end }}
{{- if and (not .Values.redis.url) (not .Values.redis.existingSecret) }}
{{- fail "set redis.url or redis.existingSecret: kms-why needs an external Redis" }}
{{- end }}
{{- if and (not .Values.slack.existingSecret) (not .Values.slack.createSecret) }}
{{- fail "set slack.existingSecret (or, for development only, slack.createSecret=true with the tokens)" }}
{{- end }}
{{- if and (not .Values.slack.existingSecret) .Values.slack.createSecret }}
{{- if not .Values.slack.botToken }}{{ fail "slack.createSecret needs slack.botToken" }}{{ end }}
{{- if and (eq .Values.slack.mode "http") (not .Values.slack.signingSecret) }}{{ fail "slack.createSecret in http mode needs slack.signingSecret" }}{{ end }}
{{- if and (eq .Values.slack.mode "socket") (not .Values.slack.appToken) }}{{ fail "slack.createSecret in socket mode needs slack.appToken" }}{{ end }}
{{- end }}
{{- if and .Values.ingress.enabled (eq .Values.slack.mode "socket") }}
{{- fail "ingress.enabled makes no sense in socket mode: Slack is reached by an outbound connection" }}
{{- end }}
{{- end }}

{{/* Environment: call with (dict "ctx" $ "component" "web|socket|worker"). Each process gets only the
     secrets it uses: the signing secret only in web, the app token only in socket. ---------------- */}}
{{- define "kms-why.env" -}}
{{- $v := .ctx.Values }}
{{- $slackSecret := include "kms-why.slackSecretName" .ctx }}
- name: SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $slackSecret | quote }}, key: SLACK_BOT_TOKEN}
{{- if eq .component "web" }}
- name: SLACK_SIGNING_SECRET
  valueFrom:
    secretKeyRef: {name: {{ $slackSecret | quote }}, key: SLACK_SIGNING_SECRET}
{{- end }}
{{- if eq .component "socket" }}
- name: SLACK_APP_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ $slackSecret | quote }}, key: SLACK_APP_TOKEN}
{{- end }}
{{- with $v.slack.apiUrl }}
- name: SLACK_API_URL
  value: {{ . | quote }}
{{- end }}
- name: REDIS_URL
{{- if $v.redis.existingSecret }}
  valueFrom:
    secretKeyRef: {name: {{ $v.redis.existingSecret | quote }}, key: {{ $v.redis.existingSecretKey | quote }}}
{{- else }}
  value: {{ $v.redis.url | quote }}
{{- end }}
- name: KMS_WHY_READER_ROLE
  value: {{ $v.aws.readerRole | quote }}
- name: KMS_WHY_WRITER_ROLE
  value: {{ $v.aws.writerRole | quote }}
{{- with $v.aws.orgRoleArn }}
- name: KMS_WHY_ORG_ROLE_ARN
  value: {{ . | quote }}
{{- end }}
{{- with $v.aws.externalIdSecret }}
- name: KMS_WHY_EXTERNAL_ID
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: KMS_WHY_EXTERNAL_ID}
{{- end }}
- name: AWS_DEFAULT_REGION
  value: {{ $v.aws.region | quote }}
- name: AWS_STS_REGIONAL_ENDPOINTS
  value: regional
- name: KMS_WHY_APPROVERS
  value: {{ join "," $v.bot.approvers | quote }}
- name: KMS_WHY_CHANNELS
  value: {{ join "," $v.bot.channels | quote }}
- name: KMS_WHY_PROPOSAL_TTL_SECONDS
  value: {{ $v.bot.proposalTtlSeconds | quote }}
- name: KMS_WHY_LOG_LEVEL
  value: {{ $v.bot.logLevel | quote }}
- name: KMS_WHY_LOG_FORMAT
  value: json
{{- if eq .component "worker" }}
{{- if $v.worker.heartbeat.enabled }}
- name: KMS_WHY_HEARTBEAT_FILE
  value: {{ $v.worker.heartbeat.file | quote }}
{{- end }}
{{- if $v.worker.metricsPort }}
- name: KMS_WHY_WORKER_METRICS_PORT
  value: {{ $v.worker.metricsPort | quote }}
{{- end }}
{{- end }}
{{- if has .component (list "web" "socket") }}
- name: PORT
  value: {{ $v.web.port | quote }}
{{- end }}
- name: POD_NAME
  valueFrom:
    fieldRef: {fieldPath: metadata.name}
{{- with $v.bot.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level pieces shared by both Deployments. ------------------------------------------------- */}}
{{- define "kms-why.podCommon" -}}
serviceAccountName: {{ include "kms-why.serviceAccountName" . }}
# IRSA and EKS Pod Identity inject their own projected token; the Kubernetes API token is not needed.
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{- define "kms-why.podAnnotations" -}}
{{- $ctx := .ctx }}
{{- if and $ctx.Values.slack.createSecret (not $ctx.Values.slack.existingSecret) }}
checksum/slack-secret: {{ include (print $ctx.Template.BasePath "/secret.yaml") $ctx | sha256sum }}
{{- end }}
{{- if and $ctx.Values.metrics.podAnnotations .port }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with $ctx.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
