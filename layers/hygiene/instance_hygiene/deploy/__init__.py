"""The deploy-time function: publish the healthcheck scripts (a CloudFormation custom resource)."""
