# The consumer's secrets: one Secrets Manager secret holding JSON
# {"slack_webhook_url": "...", "llm_api_key": "..."}. Terraform creates it empty; the
# values are set out of band so they never enter the Terraform state:
#   aws secretsmanager put-secret-value --secret-id cali/consumer --secret-string '{...}'

resource "aws_secretsmanager_secret" "consumer" {
  name                    = "${var.name}/consumer"
  description             = "CALI consumer: Slack incoming webhook URL and LLM API key (JSON)"
  recovery_window_in_days = 7
}
