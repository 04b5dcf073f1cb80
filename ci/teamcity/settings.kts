// TeamCity (Kotlin DSL): install the gate (pinned, checked), deploy the new build, then roll out
// only when every step completed. The keys and the update URL are password parameters; the
// agent is Linux x86_64 with curl, sha256sum and tar. The gate sets env.CLANFORGE_RESULT,
// env.CLANFORGE_IMAGE_VERSION_ID, … for the steps after it.
// A failed or timed-out deploy is picked up where it stopped by running this configuration
// again on the same revision: each build publishes its result file under its revision, and the
// next build of that revision takes it from the last finished build, so the gate resumes
// instead of creating a job twice. Another revision finds none and starts a new deploy.
import jetbrains.buildServer.configs.kotlin.*
import jetbrains.buildServer.configs.kotlin.buildFeatures.XmlReport
import jetbrains.buildServer.configs.kotlin.buildFeatures.xmlReport
import jetbrains.buildServer.configs.kotlin.buildSteps.script

version = "2025.11"

project {
    buildType(Deploy)
}

object Deploy : BuildType({
    name = "Deploy to Clanforge"
    artifactRules = "clanforge-result.json => clanforge-resume/%build.vcs.number%"
    params {
        param("env.CLANFORGE_WAIT_VERSION", "v0.3.0")
        param("env.CLANFORGE_WAIT_REPOSITORY", "OWNER/clanforge-wait")
        // Filled by the release process (scripts/pin-release.sh) for the version above.
        param("env.CLANFORGE_WAIT_SHA256", "")
        param("env.CLANFORGE_ASID", "654321")
        param("env.CLANFORGE_GAME_ID", "42")
        param("env.CLANFORGE_IMAGE_ID", "1234")
        param("env.CLANFORGE_MACHINE_ID", "5678")
        param("env.CLANFORGE_TIMEOUT", "90m")
        password("env.CLANFORGE_ACCESS_KEY", "credentialsJSON:clanforge-access-key")
        password("env.CLANFORGE_SECRET_KEY", "credentialsJSON:clanforge-secret-key")
        password("env.CLANFORGE_UPDATE_URL", "credentialsJSON:clanforge-update-url")
    }
    dependencies {
        artifacts(RelativeId("Deploy")) {
            buildRule = lastFinished()
            artifactRules = "?:clanforge-resume/%build.vcs.number%/clanforge-result.json => ."
        }
    }
    steps {
        script {
            name = "Deploy"
            scriptContent = """
                set -eu
                # The gate, pinned: this version's release archive, checked against the SHA-256 pinned above.
                archive=clanforge-wait-x86_64-unknown-linux-musl.tar.gz
                if [ -z "${'$'}CLANFORGE_WAIT_SHA256" ]; then
                  echo "clanforge-wait: no SHA-256 is pinned for ${'$'}CLANFORGE_WAIT_VERSION (CLANFORGE_WAIT_SHA256): refusing an unchecked download" >&2
                  exit 2
                fi
                curl -fsSL --retry 3 -o "${'$'}archive" "${'$'}{CLANFORGE_WAIT_RELEASES:-https://github.com/${'$'}CLANFORGE_WAIT_REPOSITORY/releases/download}/${'$'}CLANFORGE_WAIT_VERSION/${'$'}archive"
                echo "${'$'}CLANFORGE_WAIT_SHA256  ${'$'}archive" | sha256sum -c --quiet -
                tar -xzf "${'$'}archive" clanforge-wait
                ./clanforge-wait deploy --result-file clanforge-result.json --resume-from clanforge-result.json --junit clanforge-wait.xml
            """.trimIndent()
        }
        script {
            name = "Roll out"
            executionMode = BuildStep.ExecutionMode.RUN_ON_SUCCESS
            scriptContent = """./rollout.sh "${'$'}CLANFORGE_IMAGE_VERSION_ID""""
        }
    }
    features {
        xmlReport {
            reportType = XmlReport.XmlReportType.JUNIT
            rules = "clanforge-wait.xml"
        }
    }
})
