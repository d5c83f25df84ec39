#!/usr/bin/env bash
# Instance hygiene post-patching healthcheck for Linux (Amazon Linux 2/2023, RHEL, Ubuntu, Debian).
#
# Every check prints exactly one line to stdout:
#   CHECK <name> PASS|FAIL|SKIP <detail>
# followed by one final line:
#   HEALTHCHECK PASS <n> checks
#   HEALTHCHECK FAIL <k> of <n> checks failed: <name>, <name>
# (the FAIL line is repeated on stderr). <n> counts every CHECK line, SKIPs included.
#
# Exit codes: 0 all checks passed or were skipped, 1 at least one check failed, 2 bad arguments.
#
# A check whose tool is missing never aborts the run: it reports SKIP (FAIL for a required
# service, which cannot be confirmed without systemctl). The script needs only bash builtins
# plus the tool of each check (df, systemctl, pgrep, needs-restarting, curl or wget).
#
# Test hooks: HYGIENE_PROC_MEMINFO (default /proc/meminfo) and HYGIENE_REBOOT_REQUIRED_FILE
# (default /var/run/reboot-required).
#
# Written for bash 4.2 (Amazon Linux 2): no namerefs, no arrays (an empty one breaks `set -u`
# before bash 4.4), and no here-strings or here-documents (they need a temporary file, which
# cannot be written when the disk is full).

set -u
set -o pipefail
export LC_ALL=C

readonly PROGRAM="healthcheck.sh"
readonly USAGE="usage: ${PROGRAM} [--required-services NAME[,NAME...]] [--min-free-disk-percent 0-99] [--min-free-memory-percent 0-99] [--http-endpoint http(s)://localhost|127.0.0.1[:PORT][/PATH]] [--fail-on-pending-reboot true|false]"
readonly MEMINFO_FILE="${HYGIENE_PROC_MEMINFO:-/proc/meminfo}"
readonly REBOOT_REQUIRED_FILE="${HYGIENE_REBOOT_REQUIRED_FILE:-/var/run/reboot-required}"
readonly HTTP_TIMEOUT_SECONDS=10

# The same patterns as the SSM document's allowedPattern values (defence in depth).
readonly PERCENT_PATTERN='^(0|[1-9][0-9]?)$'
readonly SERVICES_PATTERN='^([A-Za-z0-9][A-Za-z0-9_.@-]{0,127}(,[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}){0,49})?$'
readonly HTTP_ENDPOINT_PATTERN='^(https?://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?)?$'
readonly BOOLEAN_PATTERN='^(true|false)$'

required_services=""
min_free_disk_percent="10"
min_free_memory_percent="5"
http_endpoint=""
fail_on_pending_reboot="false"

checks_total=0
checks_failed=0
failed_names=""

usage_error() {
    echo "${PROGRAM}: $1" >&2
    echo "${USAGE}" >&2
    exit 2
}

# report <name> <PASS|FAIL|SKIP> <detail>
report() {
    local name="$1" result="$2" detail="$3"
    echo "CHECK ${name} ${result} ${detail}"
    checks_total=$((checks_total + 1))
    if [[ "${result}" == "FAIL" ]]; then
        checks_failed=$((checks_failed + 1))
        if [[ -z "${failed_names}" ]]; then
            failed_names="${name}"
        else
            failed_names="${failed_names}, ${name}"
        fi
    fi
}

has_command() {
    command -v "$1" >/dev/null 2>&1
}

is_known_option() {
    case "$1" in
        --required-services | --min-free-disk-percent | --min-free-memory-percent | \
            --http-endpoint | --fail-on-pending-reboot)
            return 0
            ;;
        *)
            return 1
            ;;
    esac
}

parse_arguments() {
    local flag value
    while [[ $# -gt 0 ]]; do
        flag="$1"
        case "${flag}" in
            -h | --help)
                echo "${USAGE}"
                exit 0
                ;;
            --*=*)
                value="${flag#*=}"
                flag="${flag%%=*}"
                is_known_option "${flag}" || usage_error "unknown option: ${flag}"
                shift
                ;;
            --*)
                is_known_option "${flag}" || usage_error "unknown option: ${flag}"
                [[ $# -ge 2 ]] || usage_error "missing value for ${flag}"
                value="$2"
                shift 2
                ;;
            *)
                usage_error "unexpected argument: ${flag}"
                ;;
        esac
        case "${flag}" in
            --required-services)
                [[ "${value}" =~ ${SERVICES_PATTERN} ]] || usage_error "invalid ${flag}: ${value}"
                required_services="${value}"
                ;;
            --min-free-disk-percent)
                [[ "${value}" =~ ${PERCENT_PATTERN} ]] || usage_error "invalid ${flag}: ${value}"
                min_free_disk_percent="${value}"
                ;;
            --min-free-memory-percent)
                [[ "${value}" =~ ${PERCENT_PATTERN} ]] || usage_error "invalid ${flag}: ${value}"
                min_free_memory_percent="${value}"
                ;;
            --http-endpoint)
                [[ "${value}" =~ ${HTTP_ENDPOINT_PATTERN} ]] || usage_error "invalid ${flag}: ${value}"
                http_endpoint="${value}"
                ;;
            --fail-on-pending-reboot)
                [[ "${value}" =~ ${BOOLEAN_PATTERN} ]] || usage_error "invalid ${flag}: ${value}"
                fail_on_pending_reboot="${value}"
                ;;
            *)
                usage_error "unknown option: ${flag}"
                ;;
        esac
    done
}

# Prints the systemd state of a unit ("active", "inactive", "failed", ...); returns
# systemctl's exit code (0 only when the unit is active).
unit_state() {
    local state rc
    state="$(systemctl is-active -- "$1" 2>/dev/null)"
    rc=$?
    echo "${state:-unknown}"
    return "${rc}"
}

check_ssm_agent() {
    local unit state
    if has_command systemctl; then
        for unit in amazon-ssm-agent snap.amazon-ssm-agent.amazon-ssm-agent; do
            if state="$(unit_state "${unit}")"; then
                report "ssm-agent" PASS "unit=${unit} state=${state}"
                return
            fi
        done
    fi
    if has_command pgrep; then
        # comm is cut to 15 characters, so match the executable path in the command line;
        # "(^|/)...( |$)" keeps /snap/amazon-ssm-agent/<rev>/ssm-document-worker out.
        if pgrep -f '(^|/)amazon-ssm-agent( |$)' >/dev/null 2>&1; then
            report "ssm-agent" PASS "process running"
        else
            report "ssm-agent" FAIL "amazon-ssm-agent not running"
        fi
        return
    fi
    if has_command systemctl; then
        report "ssm-agent" FAIL "amazon-ssm-agent not running"
    else
        report "ssm-agent" SKIP "neither systemctl nor pgrep available"
    fi
}

# Reports one disk:<mount> line per filesystem line of `df -P` output ($1), skipping mount
# points already reported. Works on strings only: here-strings and here-documents need a
# temporary file, which cannot be created on the full disk this check exists to catch.
report_df_output() {
    local rest="$1"$'\n' line used available mount free result
    local df_line_pattern='^[^[:space:]]+[[:space:]]+[0-9]+[[:space:]]+([0-9]+)[[:space:]]+([0-9]+)[[:space:]]+([0-9]+%|-)[[:space:]]+(/.*)$'
    while [[ -n "${rest}" ]]; do
        line="${rest%%$'\n'*}"
        rest="${rest#*$'\n'}"
        [[ "${line}" =~ ${df_line_pattern} ]] || continue
        used="${BASH_REMATCH[1]}"
        available="${BASH_REMATCH[2]}"
        mount="${BASH_REMATCH[4]}"
        [[ $((used + available)) -gt 0 ]] || continue
        [[ "${disk_mounts_seen}" == *$'\n'"${mount}"$'\n'* ]] && continue
        disk_mounts_seen="${disk_mounts_seen}${mount}"$'\n'
        free=$((available * 100 / (used + available)))
        result=PASS
        if [[ "${free}" -lt "${min_free_disk_percent}" ]]; then
            result=FAIL
        fi
        # A mount point with blanks keeps the check name one word, as /proc/mounts does.
        report "disk:${mount// /\\040}" "${result}" \
            "free=${free}% threshold=${min_free_disk_percent}% mount=${mount}"
    done
}

check_disks() {
    local output rc
    disk_mounts_seen=$'\n'
    if ! has_command df; then
        report "disk:/" SKIP "df not available"
        return
    fi
    # Local filesystems only, without pseudo and read-only image filesystems (snap squashfs
    # and ISO images are always 100% used). df may exit 1 and still list the readable ones.
    output="$(df -P -l -x tmpfs -x devtmpfs -x squashfs -x overlay -x iso9660 -x ramfs \
        -x efivarfs 2>/dev/null)"
    rc=$?
    report_df_output "${output}"
    if [[ "${disk_mounts_seen}" != *$'\n/\n'* ]]; then
        # / is always checked, even when it is excluded above or df lacks -l/-x.
        output="$(df -P / 2>/dev/null)"
        rc=$?
        report_df_output "${output}"
    fi
    if [[ "${disk_mounts_seen}" == $'\n' ]]; then
        if [[ "${rc}" -ne 0 ]]; then
            report "disk:/" FAIL "df failed (exit ${rc})"
        else
            report "disk:/" FAIL "df listed no filesystem"
        fi
    fi
}

check_memory() {
    local key value total="" available="" free_kb="" buffers="" cached="" percent basis
    if [[ ! -r "${MEMINFO_FILE}" ]]; then
        report "memory" SKIP "${MEMINFO_FILE} not readable"
        return
    fi
    while read -r key value _ || [[ -n "${key}" ]]; do
        case "${key}" in
            MemTotal:) total="${value}" ;;
            MemAvailable:) available="${value}" ;;
            MemFree:) free_kb="${value}" ;;
            Buffers:) buffers="${value}" ;;
            Cached:) cached="${value}" ;;
            *) ;;
        esac
    done <"${MEMINFO_FILE}"
    basis="available"
    if [[ -z "${available}" && "${free_kb}" =~ ^[0-9]+$ && "${buffers}" =~ ^[0-9]+$ \
        && "${cached}" =~ ^[0-9]+$ ]]; then
        # Kernels before 3.14 have no MemAvailable: estimate it.
        available=$((free_kb + buffers + cached))
        basis="estimated-available"
    fi
    if ! [[ "${total}" =~ ^[0-9]+$ && "${available}" =~ ^[0-9]+$ && "${total}" -gt 0 ]]; then
        report "memory" SKIP "MemTotal/MemAvailable not found in ${MEMINFO_FILE}"
        return
    fi
    percent=$((available * 100 / total))
    if [[ "${percent}" -lt "${min_free_memory_percent}" ]]; then
        report "memory" FAIL "${basis}=${percent}% threshold=${min_free_memory_percent}%"
    else
        report "memory" PASS "${basis}=${percent}% threshold=${min_free_memory_percent}%"
    fi
}

check_pending_reboot() {
    local pending="" rc
    if [[ -e "${REBOOT_REQUIRED_FILE}" ]]; then
        pending="${REBOOT_REQUIRED_FILE}"
    elif has_command needs-restarting; then
        needs-restarting -r >/dev/null 2>&1
        rc=$?
        case "${rc}" in
            0) ;;
            1) pending="needs-restarting" ;;
            *)
                report "pending-reboot" SKIP "needs-restarting -r failed (exit ${rc})"
                return
                ;;
        esac
    fi
    if [[ -z "${pending}" ]]; then
        report "pending-reboot" PASS "no reboot pending"
    elif [[ "${fail_on_pending_reboot}" == "true" ]]; then
        report "pending-reboot" FAIL "reboot pending (enforced)"
    else
        report "pending-reboot" PASS "reboot pending (not enforced)"
    fi
}

check_required_services() {
    local rest service state
    [[ -n "${required_services}" ]] || return 0
    rest="${required_services},"
    while [[ -n "${rest}" ]]; do
        service="${rest%%,*}"
        rest="${rest#*,}"
        [[ -n "${service}" ]] || continue
        if ! has_command systemctl; then
            report "service:${service}" FAIL "systemctl not available"
        elif state="$(unit_state "${service}")"; then
            report "service:${service}" PASS "state=${state}"
        else
            report "service:${service}" FAIL "state=${state}"
        fi
    done
}

# Prints the HTTP status code of the endpoint and returns the client's exit code.
http_status_with_curl() {
    curl --silent --show-error --output /dev/null --write-out '%{http_code}' \
        --max-time "${HTTP_TIMEOUT_SECONDS}" --noproxy '*' --proto '=http,https' \
        -- "$1" 2>/dev/null
}

http_status_with_wget() {
    local output rc rest line status=""
    output="$(wget --server-response --output-document=/dev/null --timeout="${HTTP_TIMEOUT_SECONDS}" \
        --tries=1 --max-redirect=0 --no-proxy -- "$1" 2>&1)"
    rc=$?
    rest="${output}"$'\n'
    while [[ -n "${rest}" ]]; do
        line="${rest%%$'\n'*}"
        rest="${rest#*$'\n'}"
        if [[ "${line}" =~ ^[[:space:]]*HTTP/[0-9.]+[[:space:]]+([0-9]{3}) ]]; then
            status="${BASH_REMATCH[1]}"
        fi
    done
    echo "${status}"
    # wget exits 8 on any 4xx/5xx and on a redirect it may not follow: the status decides.
    if [[ -n "${status}" ]]; then
        return 0
    fi
    return "${rc}"
}

check_http() {
    local client status rc
    if [[ -z "${http_endpoint}" ]]; then
        report "http" SKIP "no endpoint configured"
        return
    fi
    if has_command curl; then
        client=curl
    elif has_command wget; then
        client=wget
    else
        report "http" SKIP "neither curl nor wget available url=${http_endpoint}"
        return
    fi
    if [[ "${client}" == curl ]]; then
        status="$(http_status_with_curl "${http_endpoint}")"
        rc=$?
    else
        status="$(http_status_with_wget "${http_endpoint}")"
        rc=$?
    fi
    if [[ "${rc}" -ne 0 || ! "${status}" =~ ^[1-5][0-9][0-9]$ ]]; then
        report "http" FAIL "request failed (${client} exit ${rc}) url=${http_endpoint}"
    elif [[ "${status}" =~ ^[23] ]]; then
        report "http" PASS "status=${status} url=${http_endpoint}"
    else
        report "http" FAIL "status=${status} url=${http_endpoint}"
    fi
}

summarise() {
    local line
    if [[ "${checks_failed}" -eq 0 ]]; then
        echo "HEALTHCHECK PASS ${checks_total} checks"
        exit 0
    fi
    line="HEALTHCHECK FAIL ${checks_failed} of ${checks_total} checks failed: ${failed_names}"
    echo "${line}"
    echo "${line}" >&2
    exit 1
}

main() {
    parse_arguments "$@"
    check_ssm_agent
    check_disks
    check_memory
    check_pending_reboot
    check_required_services
    check_http
    summarise
}

main "$@"
