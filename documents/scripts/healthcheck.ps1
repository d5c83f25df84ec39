<#
.SYNOPSIS
    Instance hygiene post-patching healthcheck for Windows Server 2016 and later.

.DESCRIPTION
    The Windows counterpart of healthcheck.sh, with the same output and exit codes.
    Every check writes exactly one line to stdout:
        CHECK <name> PASS|FAIL|SKIP <detail>
    followed by one final line:
        HEALTHCHECK PASS <n> checks
        HEALTHCHECK FAIL <k> of <n> checks failed: <name>, <name>
    (the FAIL line is repeated on stderr). <n> counts every CHECK line, SKIPs included.
    Exit codes: 0 all checks passed or were skipped, 1 at least one check failed,
    2 bad arguments. A check that cannot run reports FAIL or SKIP; it never aborts the run.

    The options are strings, validated here with the same patterns as the SSM document's
    allowedPattern values, so that a bad value exits 2 with a usage line instead of a
    parameter binding error.
#>
[CmdletBinding()]
param(
    [string]$RequiredServices = '',
    [string]$MinFreeDiskPercent = '10',
    [string]$MinFreeMemoryPercent = '5',
    [string]$HttpEndpoint = '',
    [string]$FailOnPendingReboot = 'false'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Usage = 'usage: healthcheck.ps1 [-RequiredServices NAME[,NAME...]] [-MinFreeDiskPercent 0-99] ' +
    '[-MinFreeMemoryPercent 0-99] [-HttpEndpoint http(s)://localhost|127.0.0.1[:PORT][/PATH]] ' +
    '[-FailOnPendingReboot true|false]'
$HttpTimeoutSeconds = 10

$script:ChecksTotal = 0
$script:FailedNames = New-Object System.Collections.Generic.List[string]

function Exit-WithUsageError([string]$Message) {
    [Console]::Error.WriteLine("healthcheck.ps1: $Message")
    [Console]::Error.WriteLine($Usage)
    exit 2
}

function Write-CheckResult([string]$Name, [string]$Result, [string]$Detail) {
    Write-Output "CHECK $Name $Result $Detail"
    $script:ChecksTotal++
    if ($Result -eq 'FAIL') {
        $script:FailedNames.Add($Name)
    }
}

function Test-Arguments {
    # -cmatch: case-sensitive, like the SSM document's allowedPattern.
    $patterns = [ordered]@{
        RequiredServices     = '^([A-Za-z0-9][A-Za-z0-9_.@-]{0,127}(,[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}){0,49})?$'
        MinFreeDiskPercent   = '^(0|[1-9][0-9]?)$'
        MinFreeMemoryPercent = '^(0|[1-9][0-9]?)$'
        HttpEndpoint         = '^(https?://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?)?$'
        FailOnPendingReboot  = '^(true|false)$'
    }
    $values = @{
        RequiredServices     = $RequiredServices
        MinFreeDiskPercent   = $MinFreeDiskPercent
        MinFreeMemoryPercent = $MinFreeMemoryPercent
        HttpEndpoint         = $HttpEndpoint
        FailOnPendingReboot  = $FailOnPendingReboot
    }
    foreach ($name in $patterns.Keys) {
        # \z rather than $: in .NET, $ also matches before a final newline.
        $pattern = $patterns[$name] -replace '\$$', '\z'
        if ($values[$name] -cnotmatch $pattern) {
            Exit-WithUsageError "invalid -${name}: $($values[$name])"
        }
    }
}

function Test-SsmAgent {
    try {
        $service = Get-Service -Name 'AmazonSSMAgent' -ErrorAction Stop
    } catch {
        Write-CheckResult 'ssm-agent' 'FAIL' 'service AmazonSSMAgent not found'
        return
    }
    if ($service.Status -eq 'Running') {
        Write-CheckResult 'ssm-agent' 'PASS' "service=AmazonSSMAgent status=$($service.Status)"
    } else {
        Write-CheckResult 'ssm-agent' 'FAIL' "service=AmazonSSMAgent status=$($service.Status)"
    }
}

function Test-Disks([int]$Threshold) {
    try {
        $disks = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=3' -ErrorAction Stop)
    } catch {
        Write-CheckResult 'disk:C:' 'FAIL' "Win32_LogicalDisk query failed: $($_.Exception.Message)"
        return
    }
    $reported = 0
    foreach ($disk in $disks) {
        $size = [double]$disk.Size
        if ($size -le 0) {
            continue
        }
        $free = [int][Math]::Floor(([double]$disk.FreeSpace * 100) / $size)
        $result = if ($free -lt $Threshold) { 'FAIL' } else { 'PASS' }
        Write-CheckResult "disk:$($disk.DeviceID)" $result "free=$free% threshold=$Threshold% mount=$($disk.DeviceID)"
        $reported++
    }
    if ($reported -eq 0) {
        Write-CheckResult 'disk:C:' 'FAIL' 'no fixed drive found'
    }
}

function Test-Memory([int]$Threshold) {
    try {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop
    } catch {
        Write-CheckResult 'memory' 'SKIP' "Win32_OperatingSystem query failed: $($_.Exception.Message)"
        return
    }
    $total = [double]$os.TotalVisibleMemorySize
    if ($total -le 0) {
        Write-CheckResult 'memory' 'SKIP' 'TotalVisibleMemorySize not available'
        return
    }
    $available = [int][Math]::Floor(([double]$os.FreePhysicalMemory * 100) / $total)
    $result = if ($available -lt $Threshold) { 'FAIL' } else { 'PASS' }
    Write-CheckResult 'memory' $result "available=$available% threshold=$Threshold%"
}

function Test-PendingReboot([bool]$Enforce) {
    $pending = $false
    try {
        if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
            $pending = $true
        }
        if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
            $pending = $true
        }
        $sessionManager = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -ErrorAction SilentlyContinue
        if ($null -ne $sessionManager -and
            $sessionManager.PSObject.Properties.Name -contains 'PendingFileRenameOperations' -and
            @($sessionManager.PendingFileRenameOperations | Where-Object { $_ }).Count -gt 0) {
            $pending = $true
        }
    } catch {
        Write-CheckResult 'pending-reboot' 'SKIP' "registry query failed: $($_.Exception.Message)"
        return
    }
    if (-not $pending) {
        Write-CheckResult 'pending-reboot' 'PASS' 'no reboot pending'
    } elseif ($Enforce) {
        Write-CheckResult 'pending-reboot' 'FAIL' 'reboot pending (enforced)'
    } else {
        Write-CheckResult 'pending-reboot' 'PASS' 'reboot pending (not enforced)'
    }
}

function Test-RequiredServices([string]$Names) {
    if ([string]::IsNullOrEmpty($Names)) {
        return
    }
    foreach ($name in $Names.Split(',')) {
        if ([string]::IsNullOrEmpty($name)) {
            continue
        }
        try {
            $service = Get-Service -Name $name -ErrorAction Stop
        } catch {
            Write-CheckResult "service:$name" 'FAIL' 'service not found'
            continue
        }
        $result = if ($service.Status -eq 'Running') { 'PASS' } else { 'FAIL' }
        Write-CheckResult "service:$name" $result "status=$($service.Status)"
    }
}

function Test-HttpEndpoint([string]$Url) {
    if ([string]::IsNullOrEmpty($Url)) {
        Write-CheckResult 'http' 'SKIP' 'no endpoint configured'
        return
    }
    $response = $null
    $status = $null
    $requestErrors = $null
    try {
        # Redirects are not followed: a 3xx answer counts as alive, as in healthcheck.sh.
        # Windows PowerShell 5.1 returns a 3xx response with a non-terminating error, hence
        # SilentlyContinue; 4xx/5xx answers and connection errors are terminating errors.
        $response = Invoke-WebRequest -Uri $Url -UseBasicParsing -Method Get -MaximumRedirection 0 `
            -TimeoutSec $HttpTimeoutSeconds -ErrorAction SilentlyContinue -ErrorVariable requestErrors
    } catch {
        $exception = $_.Exception
        if ($exception.PSObject.Properties.Name -contains 'Response' -and $null -ne $exception.Response) {
            $status = [int]$exception.Response.StatusCode
        } else {
            Write-CheckResult 'http' 'FAIL' "request failed ($($exception.Message)) url=$Url"
            return
        }
    }
    if ($null -eq $status) {
        if ($null -eq $response) {
            $reason = 'no response'
            if ($requestErrors) {
                $reason = $requestErrors[0].Exception.Message
            }
            Write-CheckResult 'http' 'FAIL' "request failed ($reason) url=$Url"
            return
        }
        $status = [int]$response.StatusCode
    }
    $result = if ($status -ge 200 -and $status -lt 400) { 'PASS' } else { 'FAIL' }
    Write-CheckResult 'http' $result "status=$status url=$Url"
}

function Invoke-Check([scriptblock]$Check, [string]$Name) {
    # Last line of defence: an unexpected error in one check must not abort the others.
    try {
        & $Check
    } catch {
        Write-CheckResult $Name 'FAIL' "check error: $($_.Exception.Message)"
    }
}

Test-Arguments

Invoke-Check { Test-SsmAgent } 'ssm-agent'
Invoke-Check { Test-Disks ([int]$MinFreeDiskPercent) } 'disk'
Invoke-Check { Test-Memory ([int]$MinFreeMemoryPercent) } 'memory'
Invoke-Check { Test-PendingReboot ($FailOnPendingReboot -eq 'true') } 'pending-reboot'
Invoke-Check { Test-RequiredServices $RequiredServices } 'services'
Invoke-Check { Test-HttpEndpoint $HttpEndpoint } 'http'

if ($script:FailedNames.Count -eq 0) {
    Write-Output "HEALTHCHECK PASS $($script:ChecksTotal) checks"
    exit 0
}
$summary = "HEALTHCHECK FAIL $($script:FailedNames.Count) of $($script:ChecksTotal) checks failed: " +
    ($script:FailedNames -join ', ')
Write-Output $summary
[Console]::Error.WriteLine($summary)
exit 1
