{{/* Names, labels and the checks every template relies on. */}}

{{- define "mmtriton.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mmtriton.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mmtriton.labels" -}}
app.kubernetes.io/name: {{ include "mmtriton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.ngcRelease | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of every serving pod of this release (the Service, NetworkPolicy and PodMonitor). */}}
{{- define "mmtriton.serverSelector" -}}
app.kubernetes.io/name: {{ include "mmtriton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Selector of one pool's serving pods: dict "root" $ "pool" $pool */}}
{{- define "mmtriton.poolSelector" -}}
{{ include "mmtriton.serverSelector" .root }}
mmtriton.dev/pool: {{ .pool.name }}
{{- end -}}

{{- define "mmtriton.poolName" -}}
{{- printf "%s-%s" (include "mmtriton.fullname" .root) .pool.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* repository@digest when a digest is set (what a production install should pin), else :tag. */}}
{{- define "mmtriton.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .release .image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "mmtriton.serverImage" -}}
{{- include "mmtriton.image" (dict "image" .Values.image.server "release" .Values.ngcRelease) -}}
{{- end -}}

{{- define "mmtriton.builderImage" -}}
{{- include "mmtriton.image" (dict "image" .Values.image.builder "release" .Values.ngcRelease) -}}
{{- end -}}

{{- define "mmtriton.cacheClaim" -}}
{{- default (printf "%s-engines" (include "mmtriton.fullname" .)) .Values.engineCache.existingClaim -}}
{{- end -}}

{{- define "mmtriton.adminSecret" -}}
{{- default (printf "%s-admin" (include "mmtriton.fullname" .)) .Values.adminKey.existingSecret -}}
{{- end -}}

{{/* Node placement of one pool: its GPU product only (the engines are built for it). */}}
{{- define "mmtriton.placement" -}}
nodeSelector:
  nvidia.com/gpu.product: {{ .pool.gpuProduct | quote }}
{{- with .root.Values.server.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.server.affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level hardening shared by the build Job and the servers (uid 1000 as in the images). */}}
{{- define "mmtriton.podSecurity" -}}
securityContext:
  runAsUser: 1000
  runAsGroup: 1000
  runAsNonRoot: true
  fsGroup: 1000
  seccompProfile:
    type: RuntimeDefault
automountServiceAccountToken: false
{{- end -}}

{{- define "mmtriton.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  runAsNonRoot: true
  capabilities:
    drop: [ALL]
{{- end -}}

{{/* The environment that locates the engine cache of one pool. */}}
{{- define "mmtriton.cacheArgs" -}}
- --cache
- /cache
- --release
- {{ .root.Values.ngcRelease | quote }}
- --product
- {{ .pool.gpuProduct | quote }}
- --precision
- {{ .root.Values.model.precision | quote }}
{{- end -}}

{{/* Fail early on values that cannot work; messages say which key to change. */}}
{{- define "mmtriton.validate" -}}
{{- $v := .Values -}}
{{- if not $v.pools -}}{{- fail "pools: list at least one GPU product to serve" -}}{{- end -}}
{{- $seen := dict -}}
{{- range $v.pools -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$" (toString .name)) -}}
{{- fail (printf "pools[].name %q: lower-case letters, digits and '-', at most 20 characters" (toString .name)) -}}
{{- end -}}
{{- if not .gpuProduct -}}{{- fail (printf "pools[%s].gpuProduct: the node label nvidia.com/gpu.product of that pool" .name) -}}{{- end -}}
{{- if hasKey $seen .name -}}{{- fail (printf "pools: name %q appears twice" .name) -}}{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- if not (has $v.autoscaling.engine (list "hpa" "keda" "none")) -}}
{{- fail (printf "autoscaling.engine %q: one of hpa, keda, none (one autoscaler per Deployment)" $v.autoscaling.engine) -}}
{{- end -}}
{{- if not (has $v.model.precision (list "fp32" "fp16" "int8")) -}}
{{- fail (printf "model.precision %q: one of fp32, fp16, int8" $v.model.precision) -}}
{{- end -}}
{{- if le (int $v.server.terminationGracePeriodSeconds) (add (int $v.server.exitTimeoutSeconds) (int $v.server.preStopSeconds)) -}}
{{- fail "server.terminationGracePeriodSeconds must exceed server.preStopSeconds + server.exitTimeoutSeconds: Kubernetes SIGKILLs Triton at the end of the grace period, in-flight requests would be cut" -}}
{{- end -}}
{{- end -}}
