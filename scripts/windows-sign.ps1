# Signs one Windows file (the app's .exe, the NSIS installer, the .msi): the Tauri bundler runs
# it for each through bundle.windows.signCommand (src-tauri/tauri.conf.json), with the file as
# the only argument, from src-tauri/. Code-signing keys are no longer issued as exportable
# .pfx files: the key stays in a cloud signing service or a hardware token, and this script
# only tells signtool where. Nothing secret is in the repository: everything comes from the
# environment (the release workflow's secrets, README "Installers"). With none of it set the
# file is left unsigned and the build goes on (SmartScreen will warn).
#
#   Azure Trusted Signing   PEC_SIGN_DLIB      path of Azure.CodeSigning.Dlib.dll
#                           PEC_SIGN_METADATA  path of the metadata.json naming account and profile
#                           (the service authenticates with AZURE_CLIENT_ID/_SECRET/AZURE_TENANT_ID)
#   HSM or token (CNG/KSP)  PEC_SIGN_CERT_FILE the public certificate (.cer)
#                           PEC_SIGN_CSP       the key storage provider's name
#                           PEC_SIGN_KEY       the key container's name
#   both                    PEC_SIGN_TIMESTAMP_URL  RFC 3161 server (default DigiCert's)
param([Parameter(Mandatory = $true)][string]$File)
$ErrorActionPreference = "Stop"

$timestamp = if ($env:PEC_SIGN_TIMESTAMP_URL) { $env:PEC_SIGN_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
$common = @("sign", "/v", "/fd", "SHA256", "/tr", $timestamp, "/td", "SHA256")

if ($env:PEC_SIGN_DLIB -and $env:PEC_SIGN_METADATA) {
  $how = @("/dlib", $env:PEC_SIGN_DLIB, "/dmdf", $env:PEC_SIGN_METADATA)
} elseif ($env:PEC_SIGN_CERT_FILE -and $env:PEC_SIGN_CSP -and $env:PEC_SIGN_KEY) {
  $how = @("/f", $env:PEC_SIGN_CERT_FILE, "/csp", $env:PEC_SIGN_CSP, "/kc", $env:PEC_SIGN_KEY)
} else {
  Write-Host "No signing key configured (PEC_SIGN_*): $File stays unsigned"
  exit 0
}

# signtool comes with the Windows SDK; the newest one installed is used.
$signtool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" -ErrorAction SilentlyContinue |
  Sort-Object FullName -Descending | Select-Object -First 1
if (-not $signtool) { Write-Error "signtool.exe not found (install the Windows SDK)"; exit 1 }

& $signtool.FullName @common @how $File
if ($LASTEXITCODE -ne 0) { Write-Error "signtool failed on $File"; exit $LASTEXITCODE }
