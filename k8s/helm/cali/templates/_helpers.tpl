{{/* Labels shared by every object of the release. */}}
{{- define "cali.labels" -}}
app.kubernetes.io/part-of: cali
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The shipped fluent-bit.conf with the values applied: the tick record built from
.Values.settings, the tick rate, the rewrite_tag level rule for settings.alert_level, and
the release namespace in the Exclude_Path of Fluent Bit's own log.
*/}}
{{- define "cali.fluentBitConf" -}}
{{- $conf := .Files.Get "files/fluent-bit.conf" -}}
{{- $tick := merge (dict "cali_tick" 1) .Values.settings | toJson -}}
{{- $conf = regexReplaceAll "(?m)^(\\s+Dummy\\s+).*$" $conf (printf "${1}%s" $tick) -}}
{{- $conf = regexReplaceAll "(?m)^(\\s+Rate\\s+)[0-9]+$" $conf (printf "${1}%d" (int .Values.fluentBit.tickRate)) -}}
{{- $atOrAbove := dict "TRACE" "TRACE|DEBUG|INFO|WARN|ERROR|FATAL" "DEBUG" "DEBUG|INFO|WARN|ERROR|FATAL" "INFO" "INFO|WARN|ERROR|FATAL" "WARN" "WARN|ERROR|FATAL" "ERROR" "ERROR|FATAL" "FATAL" "FATAL" -}}
{{- $level := upper .Values.settings.alert_level -}}
{{- if not (hasKey $atOrAbove $level) -}}
{{- fail (printf "settings.alert_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (got %s)" .Values.settings.alert_level) -}}
{{- end -}}
{{- $conf = replace "_cali_fluent-bit-" (printf "_%s_fluent-bit-" .Release.Namespace) $conf -}}
{{- $conf = replace "$level ^(ERROR|FATAL)$" (printf "$level ^(%s)$" (get $atOrAbove $level)) $conf -}}
{{- if .Values.fluentBit.aot -}}
{{- $conf = replace "/fluent-bit/plugins/cali.wasm" "/fluent-bit/plugins/cali.aot" $conf -}}
{{- end -}}
{{- $conf -}}
{{- end -}}
