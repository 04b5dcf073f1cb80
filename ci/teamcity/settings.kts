// TeamCity (Kotlin DSL): deploy the new build, then roll out only when every step completed.
// clanforge-wait is on the agent's PATH; the keys and the update URL are password parameters.
// The gate sets env.CLANFORGE_RESULT, env.CLANFORGE_IMAGE_VERSION_ID, … for the steps after it.
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
    params {
        param("env.CLANFORGE_ASID", "654321")
        param("env.CLANFORGE_GAME_ID", "42")
        param("env.CLANFORGE_IMAGE_ID", "1234")
        param("env.CLANFORGE_MACHINE_ID", "5678")
        param("env.CLANFORGE_TIMEOUT", "90m")
        password("env.CLANFORGE_ACCESS_KEY", "credentialsJSON:clanforge-access-key")
        password("env.CLANFORGE_SECRET_KEY", "credentialsJSON:clanforge-secret-key")
        password("env.CLANFORGE_UPDATE_URL", "credentialsJSON:clanforge-update-url")
    }
    steps {
        script {
            name = "Deploy"
            scriptContent = """clanforge-wait deploy --result-file clanforge-result.json --resume-from clanforge-result.json --junit clanforge-wait.xml"""
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
