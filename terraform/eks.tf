# EKS cluster with one managed node group; IRSA (the cluster's OIDC provider) lets the
# Fluent Bit and consumer service accounts assume the roles in iam.tf.

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.31"

  cluster_name    = local.cluster_name
  cluster_version = var.kubernetes_version

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  cluster_endpoint_public_access       = var.cluster_endpoint_public_access
  cluster_endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  enable_cluster_creator_admin_permissions = true

  enable_irsa = true

  cluster_addons = {
    coredns                = {}
    kube-proxy             = {}
    vpc-cni                = {}
    eks-pod-identity-agent = {}
  }

  eks_managed_node_groups = {
    default = {
      instance_types = var.node_instance_types
      min_size       = var.node_min_size
      max_size       = var.node_max_size
      desired_size   = var.node_desired_size
      # Fluent Bit's tail offsets and filesystem buffer live on the node's disk. disk_size
      # applies only without the module's custom launch template.
      use_custom_launch_template = false
      disk_size                  = 50
    }
  }
}
