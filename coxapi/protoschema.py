"""The wire schema of the Kubernetes protobuf messages a client sends us: per
message, its fields by number, as the Kubernetes API's published definitions
(``k8s.io/api/*/generated.proto``, apimachinery's ``meta/v1``) number them;
read by :mod:`coxapi.protobody`.

One string per message, ``; ``-separated fields ``NUMBER JSONNAME KIND``, KIND
being ``s`` string, ``y`` bytes (base64 in JSON), ``i`` integer, ``b`` bool,
``t`` meta.v1.Time, ``q`` resource.Quantity, ``n`` IntOrString, ``r`` raw JSON
(RawExtension, FieldsV1), ``m:TYPE`` a message, ``{KIND}`` a map from strings;
then ``*`` repeated, ``?`` a pointer in Go (its zero value is sent in JSON),
``!`` a scalar without ``omitempty`` (its zero value is sent too). A field
named ``-`` is embedded inline: its fields are the parent's in JSON.

A map whose values are lists (UserInfo.extra) or messages we do not model
(TokenRequestSpec.attestations) is left out, so it is refused if sent.
Volume sources are those we serve (coxapi.validation.volumes.SOURCES); any
other is an unknown field, refused rather than dropped.
"""

from __future__ import annotations

# (apiVersion, kind) of the objects a body may carry → their message
ROOTS: dict[tuple[str, str], str] = {
    **{("v1", k): f"core.v1.{k}" for k in (
        "Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "ResourceQuota",
        "Pod")},
    **{("apps/v1", k): f"apps.v1.{k}" for k in (
        "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet")},
    ("batch/v1", "Job"): "batch.v1.Job",
    ("batch/v1", "CronJob"): "batch.v1.CronJob",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "autoscaling.v1.HorizontalPodAutoscaler",
    ("autoscaling/v1", "Scale"): "autoscaling.v1.Scale",
    **{("rbac.authorization.k8s.io/v1", k): f"rbac.v1.{k}" for k in (
        "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")},
    ("policy/v1", "Eviction"): "policy.v1.Eviction",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.v1.TokenRequest",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "authentication.v1.SelfSubjectReview",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"):
        "authorization.v1.SelfSubjectAccessReview",
    # client-go sends a delete's options under whichever version it deletes at
    ("v1", "DeleteOptions"): "meta.v1.DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "meta.v1.DeleteOptions",
}

MESSAGES: dict[str, str] = {
    "apps.v1.DaemonSet": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:apps.v1.DaemonSetSpec; "
        "3 status m:apps.v1.DaemonSetStatus"),
    "apps.v1.DaemonSetCondition": (
        "1 type s!; 2 status s!; 3 lastTransitionTime t; 4 reason s; 5 message s"),
    "apps.v1.DaemonSetSpec": (
        "1 selector m:meta.v1.LabelSelector?; 2 template m:core.v1.PodTemplateSpec; "
        "3 updateStrategy m:apps.v1.DaemonSetUpdateStrategy; 4 minReadySeconds i; "
        "6 revisionHistoryLimit i?"),
    "apps.v1.DaemonSetStatus": (
        "1 currentNumberScheduled i!; 2 numberMisscheduled i!; 3 desiredNumberScheduled i!; "
        "4 numberReady i!; 5 observedGeneration i; 6 updatedNumberScheduled i; "
        "7 numberAvailable i; 8 numberUnavailable i; 9 collisionCount i?; "
        "10 conditions m:apps.v1.DaemonSetCondition*"),
    "apps.v1.DaemonSetUpdateStrategy": (
        "1 type s; 2 rollingUpdate m:apps.v1.RollingUpdateDaemonSet?"),
    "apps.v1.Deployment": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:apps.v1.DeploymentSpec; "
        "3 status m:apps.v1.DeploymentStatus"),
    "apps.v1.DeploymentCondition": (
        "1 type s!; 2 status s!; 6 lastUpdateTime t; 7 lastTransitionTime t; 4 reason s; "
        "5 message s"),
    "apps.v1.DeploymentSpec": (
        "1 replicas i?; 2 selector m:meta.v1.LabelSelector?; 3 template m:core.v1.PodTemplateSpec; "
        "4 strategy m:apps.v1.DeploymentStrategy; 5 minReadySeconds i; 6 revisionHistoryLimit i?; "
        "7 paused b; 9 progressDeadlineSeconds i?"),
    "apps.v1.DeploymentStatus": (
        "1 observedGeneration i; 2 replicas i; 3 updatedReplicas i; 7 readyReplicas i; "
        "4 availableReplicas i; 5 unavailableReplicas i; 9 terminatingReplicas i?; "
        "6 conditions m:apps.v1.DeploymentCondition*; 8 collisionCount i?"),
    "apps.v1.DeploymentStrategy": "1 type s; 2 rollingUpdate m:apps.v1.RollingUpdateDeployment?",
    "apps.v1.ReplicaSet": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:apps.v1.ReplicaSetSpec; "
        "3 status m:apps.v1.ReplicaSetStatus"),
    "apps.v1.ReplicaSetCondition": (
        "1 type s!; 2 status s!; 3 lastTransitionTime t; 4 reason s; 5 message s"),
    "apps.v1.ReplicaSetSpec": (
        "1 replicas i?; 4 minReadySeconds i; 2 selector m:meta.v1.LabelSelector?; "
        "3 template m:core.v1.PodTemplateSpec"),
    "apps.v1.ReplicaSetStatus": (
        "1 replicas i!; 2 fullyLabeledReplicas i; 4 readyReplicas i; 5 availableReplicas i; "
        "7 terminatingReplicas i?; 3 observedGeneration i; "
        "6 conditions m:apps.v1.ReplicaSetCondition*"),
    "apps.v1.RollingUpdateDaemonSet": "1 maxUnavailable n?; 2 maxSurge n?",
    "apps.v1.RollingUpdateDeployment": "1 maxUnavailable n?; 2 maxSurge n?",
    "apps.v1.RollingUpdateStatefulSetStrategy": "1 partition i?; 2 maxUnavailable n?",
    "apps.v1.StatefulSet": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:apps.v1.StatefulSetSpec; "
        "3 status m:apps.v1.StatefulSetStatus"),
    "apps.v1.StatefulSetCondition": (
        "1 type s!; 2 status s!; 3 lastTransitionTime t; 4 reason s; 5 message s"),
    "apps.v1.StatefulSetOrdinals": "1 start i!",
    "apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy": "1 whenDeleted s; 2 whenScaled s",
    "apps.v1.StatefulSetSpec": (
        "1 replicas i?; 2 selector m:meta.v1.LabelSelector?; 3 template m:core.v1.PodTemplateSpec; "
        "4 volumeClaimTemplates m:core.v1.PersistentVolumeClaim*; 5 serviceName s!; "
        "6 podManagementPolicy s; 7 updateStrategy m:apps.v1.StatefulSetUpdateStrategy; "
        "8 revisionHistoryLimit i?; 9 minReadySeconds i; "
        "10 persistentVolumeClaimRetentionPolicy m:apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy?; "
        "11 ordinals m:apps.v1.StatefulSetOrdinals?"),
    "apps.v1.StatefulSetStatus": (
        "1 observedGeneration i; 2 replicas i!; 3 readyReplicas i; 4 currentReplicas i; "
        "5 updatedReplicas i; 6 currentRevision s; 7 updateRevision s; 9 collisionCount i?; "
        "10 conditions m:apps.v1.StatefulSetCondition*; 11 availableReplicas i!"),
    "apps.v1.StatefulSetUpdateStrategy": (
        "1 type s; 2 rollingUpdate m:apps.v1.RollingUpdateStatefulSetStrategy?"),
    "authentication.v1.BoundObjectReference": "1 kind s; 2 apiVersion s; 3 name s; 4 uid s",
    "authentication.v1.TokenRequest": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:authentication.v1.TokenRequestSpec; "
        "3 status m:authentication.v1.TokenRequestStatus"),
    "authentication.v1.TokenRequestSpec": (
        "1 audiences s*; 4 expirationSeconds i?; "
        "3 boundObjectRef m:authentication.v1.BoundObjectReference?"),
    "authentication.v1.TokenRequestStatus": "1 token s!; 2 expirationTimestamp t!",
    "authentication.v1.SelfSubjectReview": (
        "1 metadata m:meta.v1.ObjectMeta; 2 status m:authentication.v1.SelfSubjectReviewStatus"),
    "authentication.v1.SelfSubjectReviewStatus": "1 userInfo m:authentication.v1.UserInfo",
    "authentication.v1.UserInfo": "1 username s; 2 uid s; 3 groups s*",
    "authorization.v1.FieldSelectorAttributes": (
        "1 rawSelector s; 2 requirements m:meta.v1.FieldSelectorRequirement*"),
    "authorization.v1.LabelSelectorAttributes": (
        "1 rawSelector s; 2 requirements m:meta.v1.LabelSelectorRequirement*"),
    "authorization.v1.NonResourceAttributes": "1 path s; 2 verb s",
    "authorization.v1.ResourceAttributes": (
        "1 namespace s; 2 verb s; 3 group s; 4 version s; 5 resource s; 6 subresource s; "
        "7 name s; 8 fieldSelector m:authorization.v1.FieldSelectorAttributes?; "
        "9 labelSelector m:authorization.v1.LabelSelectorAttributes?"),
    "authorization.v1.SelfSubjectAccessReview": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:authorization.v1.SelfSubjectAccessReviewSpec; "
        "3 status m:authorization.v1.SubjectAccessReviewStatus"),
    "authorization.v1.SelfSubjectAccessReviewSpec": (
        "1 resourceAttributes m:authorization.v1.ResourceAttributes?; "
        "2 nonResourceAttributes m:authorization.v1.NonResourceAttributes?"),
    "authorization.v1.SubjectAccessReviewStatus": (
        "1 allowed b!; 4 denied b; 2 reason s; 3 evaluationError s"),
    "autoscaling.v1.CrossVersionObjectReference": "1 kind s!; 2 name s!; 3 apiVersion s",
    "autoscaling.v1.HorizontalPodAutoscaler": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:autoscaling.v1.HorizontalPodAutoscalerSpec; "
        "3 status m:autoscaling.v1.HorizontalPodAutoscalerStatus"),
    "autoscaling.v1.HorizontalPodAutoscalerSpec": (
        "1 scaleTargetRef m:autoscaling.v1.CrossVersionObjectReference; 2 minReplicas i?; "
        "3 maxReplicas i!; 4 targetCPUUtilizationPercentage i?"),
    "autoscaling.v1.HorizontalPodAutoscalerStatus": (
        "1 observedGeneration i?; 2 lastScaleTime t?; 3 currentReplicas i!; 4 desiredReplicas i!; "
        "5 currentCPUUtilizationPercentage i?"),
    "autoscaling.v1.Scale": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:autoscaling.v1.ScaleSpec; "
        "3 status m:autoscaling.v1.ScaleStatus"),
    "autoscaling.v1.ScaleSpec": "1 replicas i",
    "autoscaling.v1.ScaleStatus": "1 replicas i!; 2 selector s",
    "batch.v1.CronJob": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:batch.v1.CronJobSpec; "
        "3 status m:batch.v1.CronJobStatus"),
    "batch.v1.CronJobSpec": (
        "1 schedule s!; 8 timeZone s?; 2 startingDeadlineSeconds i?; 3 concurrencyPolicy s; "
        "4 suspend b?; 5 jobTemplate m:batch.v1.JobTemplateSpec; 6 successfulJobsHistoryLimit i?; "
        "7 failedJobsHistoryLimit i?"),
    "batch.v1.CronJobStatus": (
        "1 active m:core.v1.ObjectReference*; 4 lastScheduleTime t?; 5 lastSuccessfulTime t?"),
    "batch.v1.Job": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:batch.v1.JobSpec; "
        "3 status m:batch.v1.JobStatus"),
    "batch.v1.JobCondition": (
        "1 type s!; 2 status s!; 3 lastProbeTime t; 4 lastTransitionTime t; 5 reason s; "
        "6 message s"),
    "batch.v1.JobSchedulingConfiguration": (
        "1 schedulingPolicy s?; 2 schedulingConstraints s?; 3 disruptionMode s?; "
        "4 resourceClaims s*"),
    "batch.v1.JobSpec": (
        "1 parallelism i?; 2 completions i?; 3 activeDeadlineSeconds i?; "
        "11 podFailurePolicy m:batch.v1.PodFailurePolicy?; "
        "16 successPolicy m:batch.v1.SuccessPolicy?; 7 backoffLimit i?; "
        "12 backoffLimitPerIndex i?; 13 maxFailedIndexes i?; 4 selector m:meta.v1.LabelSelector?; "
        "5 manualSelector b?; 6 template m:core.v1.PodTemplateSpec; 8 ttlSecondsAfterFinished i?; "
        "9 completionMode s?; 10 suspend b?; 14 podReplacementPolicy s?; 15 managedBy s?; "
        "17 scheduling m:batch.v1.JobSchedulingConfiguration?"),
    "batch.v1.JobStatus": (
        "1 conditions m:batch.v1.JobCondition*; 2 startTime t?; 3 completionTime t?; 4 active i; "
        "5 succeeded i; 6 failed i; 11 terminating i?; 7 completedIndexes s; 10 failedIndexes s?; "
        "8 uncountedTerminatedPods m:batch.v1.UncountedTerminatedPods?; 9 ready i?"),
    "batch.v1.JobTemplateSpec": "1 metadata m:meta.v1.ObjectMeta; 2 spec m:batch.v1.JobSpec",
    "batch.v1.PodFailurePolicy": "1 rules m:batch.v1.PodFailurePolicyRule*",
    "batch.v1.PodFailurePolicyOnExitCodesRequirement": (
        "1 containerName s?; 2 operator s!; 3 values i*"),
    "batch.v1.PodFailurePolicyOnPodConditionsPattern": "1 type s!; 2 status s!",
    "batch.v1.PodFailurePolicyRule": (
        "1 action s!; 2 onExitCodes m:batch.v1.PodFailurePolicyOnExitCodesRequirement?; "
        "3 onPodConditions m:batch.v1.PodFailurePolicyOnPodConditionsPattern*"),
    "batch.v1.SuccessPolicy": "1 rules m:batch.v1.SuccessPolicyRule*",
    "batch.v1.SuccessPolicyRule": "1 succeededIndexes s?; 2 succeededCount i?",
    "batch.v1.UncountedTerminatedPods": "1 succeeded s*; 2 failed s*",
    "core.v1.AWSElasticBlockStoreVolumeSource": (
        "1 volumeID s!; 2 fsType s; 3 partition i; 4 readOnly b"),
    "core.v1.Affinity": (
        "1 nodeAffinity m:core.v1.NodeAffinity?; 2 podAffinity m:core.v1.PodAffinity?; "
        "3 podAntiAffinity m:core.v1.PodAntiAffinity?"),
    "core.v1.AppArmorProfile": "1 type s!; 2 localhostProfile s?",
    "core.v1.AzureDiskVolumeSource": (
        "1 diskName s!; 2 diskURI s!; 3 cachingMode s?; 4 fsType s?; 5 readOnly b?; 6 kind s?"),
    "core.v1.AzureFileVolumeSource": "1 secretName s!; 2 shareName s!; 3 readOnly b",
    "core.v1.CSIVolumeSource": (
        "1 driver s!; 2 readOnly b?; 3 fsType s?; 4 volumeAttributes {s}; "
        "5 nodePublishSecretRef m:core.v1.LocalObjectReference?"),
    "core.v1.Capabilities": "1 add s*; 2 drop s*",
    "core.v1.CephFSVolumeSource": (
        "1 monitors s*; 2 path s; 3 user s; 4 secretFile s; "
        "5 secretRef m:core.v1.LocalObjectReference?; 6 readOnly b"),
    "core.v1.CinderVolumeSource": (
        "1 volumeID s!; 2 fsType s; 3 readOnly b; 4 secretRef m:core.v1.LocalObjectReference?"),
    "core.v1.ClientIPConfig": "1 timeoutSeconds i?",
    "core.v1.ClusterTrustBundleProjection": (
        "1 name s?; 2 signerName s?; 3 labelSelector m:meta.v1.LabelSelector?; 5 optional b?; "
        "4 path s!; 6 user i?"),
    "core.v1.ConfigMap": (
        "1 metadata m:meta.v1.ObjectMeta; 4 immutable b?; 2 data {s}; 3 binaryData {y}"),
    "core.v1.ConfigMapEnvSource": "1 - m:core.v1.LocalObjectReference; 2 optional b?",
    "core.v1.ConfigMapKeySelector": "1 - m:core.v1.LocalObjectReference; 2 key s!; 3 optional b?",
    "core.v1.ConfigMapProjection": (
        "1 - m:core.v1.LocalObjectReference; 2 items m:core.v1.KeyToPath*; 4 optional b?"),
    "core.v1.ConfigMapVolumeSource": (
        "1 - m:core.v1.LocalObjectReference; 2 items m:core.v1.KeyToPath*; 3 defaultMode i?; "
        "4 optional b?; 5 defaultUser i?"),
    "core.v1.Container": (
        "1 name s!; 2 image s; 3 command s*; 4 args s*; 5 workingDir s; "
        "6 ports m:core.v1.ContainerPort*; 19 envFrom m:core.v1.EnvFromSource*; "
        "7 env m:core.v1.EnvVar*; 8 resources m:core.v1.ResourceRequirements; "
        "23 resizePolicy m:core.v1.ContainerResizePolicy*; 24 restartPolicy s?; "
        "25 restartPolicyRules m:core.v1.ContainerRestartRule*; "
        "9 volumeMounts m:core.v1.VolumeMount*; 21 volumeDevices m:core.v1.VolumeDevice*; "
        "10 livenessProbe m:core.v1.Probe?; 11 readinessProbe m:core.v1.Probe?; "
        "22 startupProbe m:core.v1.Probe?; 12 lifecycle m:core.v1.Lifecycle?; "
        "13 terminationMessagePath s; 20 terminationMessagePolicy s; 14 imagePullPolicy s; "
        "15 securityContext m:core.v1.SecurityContext?; 16 stdin b; 17 stdinOnce b; 18 tty b"),
    "core.v1.ContainerExtendedResourceRequest": (
        "1 containerName s!; 2 resourceName s!; 3 requestName s!"),
    "core.v1.ContainerPort": "1 name s; 2 hostPort i; 3 containerPort i!; 4 protocol s; 5 hostIP s",
    "core.v1.ContainerResizePolicy": "1 resourceName s!; 2 restartPolicy s!",
    "core.v1.ContainerRestartRule": (
        "1 action s; 2 exitCodes m:core.v1.ContainerRestartRuleOnExitCodes?"),
    "core.v1.ContainerRestartRuleOnExitCodes": "1 operator s; 2 values i*",
    "core.v1.ContainerState": (
        "1 waiting m:core.v1.ContainerStateWaiting?; 2 running m:core.v1.ContainerStateRunning?; "
        "3 terminated m:core.v1.ContainerStateTerminated?"),
    "core.v1.ContainerStateRunning": "1 startedAt t",
    "core.v1.ContainerStateTerminated": (
        "1 exitCode i!; 2 signal i; 3 reason s; 4 message s; 5 startedAt t; 6 finishedAt t; "
        "7 containerID s"),
    "core.v1.ContainerStateWaiting": "1 reason s; 2 message s",
    "core.v1.ContainerStatus": (
        "1 name s!; 2 state m:core.v1.ContainerState; 3 lastState m:core.v1.ContainerState; "
        "4 ready b!; 5 restartCount i!; 6 image s!; 7 imageID s!; 8 containerID s; 9 started b?; "
        "10 allocatedResources {q}; 11 resources m:core.v1.ResourceRequirements?; "
        "12 volumeMounts m:core.v1.VolumeMountStatus*; 13 user m:core.v1.ContainerUser?; "
        "14 allocatedResourcesStatus m:core.v1.ResourceStatus*; 15 stopSignal s?"),
    "core.v1.ContainerUser": "1 linux m:core.v1.LinuxContainerUser?",
    "core.v1.DownwardAPIProjection": "1 items m:core.v1.DownwardAPIVolumeFile*",
    "core.v1.DownwardAPIVolumeFile": (
        "1 path s!; 2 fieldRef m:core.v1.ObjectFieldSelector?; "
        "3 resourceFieldRef m:core.v1.ResourceFieldSelector?; 4 mode i?; 5 user i?"),
    "core.v1.DownwardAPIVolumeSource": (
        "1 items m:core.v1.DownwardAPIVolumeFile*; 2 defaultMode i?; 3 defaultUser i?"),
    "core.v1.EmptyDirVolumeSource": "1 medium s; 2 sizeLimit q?; 3 mode i?",
    "core.v1.EnvFromSource": (
        "1 prefix s; 2 configMapRef m:core.v1.ConfigMapEnvSource?; "
        "3 secretRef m:core.v1.SecretEnvSource?"),
    "core.v1.EnvVar": "1 name s!; 2 value s; 3 valueFrom m:core.v1.EnvVarSource?",
    "core.v1.EnvVarSource": (
        "1 fieldRef m:core.v1.ObjectFieldSelector?; "
        "2 resourceFieldRef m:core.v1.ResourceFieldSelector?; "
        "3 configMapKeyRef m:core.v1.ConfigMapKeySelector?; "
        "4 secretKeyRef m:core.v1.SecretKeySelector?; 5 fileKeyRef m:core.v1.FileKeySelector?"),
    "core.v1.EphemeralContainer": "1 - m:core.v1.EphemeralContainerCommon; 2 targetContainerName s",
    "core.v1.EphemeralContainerCommon": (
        "1 name s!; 2 image s; 3 command s*; 4 args s*; 5 workingDir s; "
        "6 ports m:core.v1.ContainerPort*; 19 envFrom m:core.v1.EnvFromSource*; "
        "7 env m:core.v1.EnvVar*; 8 resources m:core.v1.ResourceRequirements; "
        "23 resizePolicy m:core.v1.ContainerResizePolicy*; 24 restartPolicy s?; "
        "25 restartPolicyRules m:core.v1.ContainerRestartRule*; "
        "9 volumeMounts m:core.v1.VolumeMount*; 21 volumeDevices m:core.v1.VolumeDevice*; "
        "10 livenessProbe m:core.v1.Probe?; 11 readinessProbe m:core.v1.Probe?; "
        "22 startupProbe m:core.v1.Probe?; 12 lifecycle m:core.v1.Lifecycle?; "
        "13 terminationMessagePath s; 20 terminationMessagePolicy s; 14 imagePullPolicy s; "
        "15 securityContext m:core.v1.SecurityContext?; 16 stdin b; 17 stdinOnce b; 18 tty b"),
    "core.v1.EphemeralVolumeSource": (
        "1 volumeClaimTemplate m:core.v1.PersistentVolumeClaimTemplate?"),
    "core.v1.EvictionResponder": "1 name s!; 2 priority i?",
    "core.v1.ExecAction": "1 command s*",
    "core.v1.FCVolumeSource": "1 targetWWNs s*; 2 lun i?; 3 fsType s; 4 readOnly b; 5 wwids s*",
    "core.v1.FileKeySelector": "1 volumeName s!; 2 path s!; 3 key s!; 4 optional b?",
    "core.v1.FlexVolumeSource": (
        "1 driver s!; 2 fsType s; 3 secretRef m:core.v1.LocalObjectReference?; 4 readOnly b; "
        "5 options {s}"),
    "core.v1.FlockerVolumeSource": "1 datasetName s; 2 datasetUUID s",
    "core.v1.GCEPersistentDiskVolumeSource": "1 pdName s!; 2 fsType s; 3 partition i; 4 readOnly b",
    "core.v1.GRPCAction": "1 port i!; 2 service s?; 3 mode s?",
    "core.v1.GitRepoVolumeSource": "1 repository s!; 2 revision s; 3 directory s",
    "core.v1.GlusterfsVolumeSource": "1 endpoints s!; 2 path s!; 3 readOnly b",
    "core.v1.HTTPGetAction": (
        "1 path s; 2 port n!; 3 host s; 4 scheme s; 5 httpHeaders m:core.v1.HTTPHeader*; "
        "6 protocol s?"),
    "core.v1.HTTPHeader": "1 name s!; 2 value s!",
    "core.v1.HostAlias": "1 ip s!; 2 hostnames s*",
    "core.v1.HostIP": "1 ip s!",
    "core.v1.HostPathVolumeSource": "1 path s!; 2 type s?",
    "core.v1.ISCSIVolumeSource": (
        "1 targetPortal s!; 2 iqn s!; 3 lun i!; 4 iscsiInterface s; 5 fsType s; 6 readOnly b; "
        "7 portals s*; 8 chapAuthDiscovery b; 11 chapAuthSession b; "
        "10 secretRef m:core.v1.LocalObjectReference?; 12 initiatorName s?"),
    "core.v1.ImageVolumeSource": "1 reference s; 2 pullPolicy s",
    "core.v1.ImageVolumeStatus": "1 imageRef s",
    "core.v1.KeyToPath": "1 key s!; 2 path s!; 3 mode i?; 4 user i?",
    "core.v1.Lifecycle": (
        "1 postStart m:core.v1.LifecycleHandler?; 2 preStop m:core.v1.LifecycleHandler?; "
        "3 stopSignal s?"),
    "core.v1.LifecycleHandler": (
        "1 exec m:core.v1.ExecAction?; 2 httpGet m:core.v1.HTTPGetAction?; "
        "3 tcpSocket m:core.v1.TCPSocketAction?; 4 sleep m:core.v1.SleepAction?"),
    "core.v1.LinuxContainerUser": "1 uid i!; 2 gid i!; 3 supplementalGroups i*",
    "core.v1.LoadBalancerIngress": (
        "1 ip s; 2 hostname s; 3 ipMode s?; 4 ports m:core.v1.PortStatus*"),
    "core.v1.LoadBalancerStatus": "1 ingress m:core.v1.LoadBalancerIngress*",
    "core.v1.LocalObjectReference": "1 name s",
    "core.v1.ModifyVolumeStatus": "1 targetVolumeAttributesClassName s; 2 status s!",
    "core.v1.NFSVolumeSource": "1 server s!; 2 path s!; 3 readOnly b",
    "core.v1.Namespace": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.NamespaceSpec; "
        "3 status m:core.v1.NamespaceStatus"),
    "core.v1.NamespaceCondition": (
        "1 type s!; 2 status s!; 4 lastTransitionTime t; 5 reason s; 6 message s"),
    "core.v1.NamespaceSpec": "1 finalizers s*",
    "core.v1.NamespaceStatus": "1 phase s; 2 conditions m:core.v1.NamespaceCondition*",
    "core.v1.NodeAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution m:core.v1.NodeSelector?; "
        "2 preferredDuringSchedulingIgnoredDuringExecution m:core.v1.PreferredSchedulingTerm*"),
    "core.v1.NodeAllocatableMappedResources": "1 name s!; 2 quantity q?",
    "core.v1.NodeAllocatableOverheadResources": "1 name s!; 2 perPod q?; 3 perContainer q?",
    "core.v1.NodeAllocatableResourceClaimStatus": (
        "1 resourceClaimName s!; 2 containers s*; "
        "4 mapping m:core.v1.NodeAllocatableMappedResources*; "
        "5 overhead m:core.v1.NodeAllocatableOverheadResources*"),
    "core.v1.NodeSelector": "1 nodeSelectorTerms m:core.v1.NodeSelectorTerm*",
    "core.v1.NodeSelectorRequirement": "1 key s!; 2 operator s!; 3 values s*",
    "core.v1.NodeSelectorTerm": (
        "1 matchExpressions m:core.v1.NodeSelectorRequirement*; "
        "2 matchFields m:core.v1.NodeSelectorRequirement*"),
    "core.v1.ObjectFieldSelector": "1 apiVersion s; 2 fieldPath s!",
    "core.v1.ObjectReference": (
        "1 kind s; 2 namespace s; 3 name s; 4 uid s; 5 apiVersion s; 6 resourceVersion s; "
        "7 fieldPath s"),
    "core.v1.PersistentVolumeClaim": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.PersistentVolumeClaimSpec; "
        "3 status m:core.v1.PersistentVolumeClaimStatus"),
    "core.v1.PersistentVolumeClaimCondition": (
        "1 type s!; 2 status s!; 3 lastProbeTime t; 4 lastTransitionTime t; 5 reason s; "
        "6 message s"),
    "core.v1.PersistentVolumeClaimSpec": (
        "1 accessModes s*; 4 selector m:meta.v1.LabelSelector?; "
        "2 resources m:core.v1.VolumeResourceRequirements; 3 volumeName s; 5 storageClassName s?; "
        "6 volumeMode s?; 7 dataSource m:core.v1.TypedLocalObjectReference?; "
        "8 dataSourceRef m:core.v1.TypedObjectReference?; 9 volumeAttributesClassName s?"),
    "core.v1.PersistentVolumeClaimStatus": (
        "1 phase s; 2 accessModes s*; 3 capacity {q}; "
        "4 conditions m:core.v1.PersistentVolumeClaimCondition*; 5 allocatedResources {q}; "
        "7 allocatedResourceStatuses {s}; 8 currentVolumeAttributesClassName s?; "
        "9 modifyVolumeStatus m:core.v1.ModifyVolumeStatus?; "
        "10 healthStatus m:core.v1.VolumeHealthStatus?"),
    "core.v1.PersistentVolumeClaimTemplate": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.PersistentVolumeClaimSpec"),
    "core.v1.PersistentVolumeClaimVolumeSource": "1 claimName s!; 2 readOnly b",
    "core.v1.PhotonPersistentDiskVolumeSource": "1 pdID s!; 2 fsType s",
    "core.v1.Pod": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.PodSpec; 3 status m:core.v1.PodStatus"),
    "core.v1.PodAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution m:core.v1.PodAffinityTerm*; "
        "2 preferredDuringSchedulingIgnoredDuringExecution m:core.v1.WeightedPodAffinityTerm*"),
    "core.v1.PodAffinityTerm": (
        "1 labelSelector m:meta.v1.LabelSelector?; 2 namespaces s*; 3 topologyKey s!; "
        "4 namespaceSelector m:meta.v1.LabelSelector?; 5 matchLabelKeys s*; "
        "6 mismatchLabelKeys s*"),
    "core.v1.PodAntiAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution m:core.v1.PodAffinityTerm*; "
        "2 preferredDuringSchedulingIgnoredDuringExecution m:core.v1.WeightedPodAffinityTerm*"),
    "core.v1.PodCertificateProjection": (
        "1 signerName s; 2 keyType s; 3 maxExpirationSeconds i?; 4 credentialBundlePath s; "
        "5 keyPath s; 6 certificateChainPath s; 7 userAnnotations {s}; 8 user i?"),
    "core.v1.PodCondition": (
        "1 type s!; 7 observedGeneration i; 2 status s!; 3 lastProbeTime t; "
        "4 lastTransitionTime t; 5 reason s; 6 message s"),
    "core.v1.PodDNSConfig": (
        "1 nameservers s*; 2 searches s*; 3 options m:core.v1.PodDNSConfigOption*"),
    "core.v1.PodDNSConfigOption": "1 name s; 2 value s?",
    "core.v1.PodExtendedResourceClaimStatus": (
        "1 requestMappings m:core.v1.ContainerExtendedResourceRequest*; 2 resourceClaimName s!"),
    "core.v1.PodIP": "1 ip s!",
    "core.v1.PodOS": "1 name s!",
    "core.v1.PodReadinessGate": "1 conditionType s!",
    "core.v1.PodResourceClaim": "1 name s!; 3 resourceClaimName s?; 4 resourceClaimTemplateName s?",
    "core.v1.PodResourceClaimStatus": "1 name s!; 2 resourceClaimName s?",
    "core.v1.PodSchedulingGate": "1 name s!",
    "core.v1.PodSchedulingGroup": "1 podGroupName s?",
    "core.v1.PodSecurityContext": (
        "1 seLinuxOptions m:core.v1.SELinuxOptions?; "
        "8 windowsOptions m:core.v1.WindowsSecurityContextOptions?; 2 runAsUser i?; "
        "6 runAsGroup i?; 3 runAsNonRoot b?; 4 supplementalGroups i*; "
        "12 supplementalGroupsPolicy s?; 5 fsGroup i?; 7 sysctls m:core.v1.Sysctl*; "
        "9 fsGroupChangePolicy s?; 10 seccompProfile m:core.v1.SeccompProfile?; "
        "11 appArmorProfile m:core.v1.AppArmorProfile?; 13 seLinuxChangePolicy s?"),
    "core.v1.PodSpec": (
        "1 volumes m:core.v1.Volume*; 20 initContainers m:core.v1.Container*; "
        "2 containers m:core.v1.Container*; 34 ephemeralContainers m:core.v1.EphemeralContainer*; "
        "3 restartPolicy s; 4 terminationGracePeriodSeconds i?; 5 activeDeadlineSeconds i?; "
        "6 dnsPolicy s; 7 nodeSelector {s}; 8 serviceAccountName s; 9 serviceAccount s; "
        "21 automountServiceAccountToken b?; 10 nodeName s; 11 hostNetwork b; 12 hostPID b; "
        "13 hostIPC b; 27 shareProcessNamespace b?; "
        "14 securityContext m:core.v1.PodSecurityContext?; "
        "15 imagePullSecrets m:core.v1.LocalObjectReference*; 16 hostname s; 17 subdomain s; "
        "18 affinity m:core.v1.Affinity?; 19 schedulerName s; "
        "22 tolerations m:core.v1.Toleration*; 23 hostAliases m:core.v1.HostAlias*; "
        "24 priorityClassName s; 25 priority i?; 26 dnsConfig m:core.v1.PodDNSConfig?; "
        "28 readinessGates m:core.v1.PodReadinessGate*; 29 runtimeClassName s?; "
        "30 enableServiceLinks b?; 31 preemptionPolicy s?; 32 overhead {q}; "
        "33 topologySpreadConstraints m:core.v1.TopologySpreadConstraint*; "
        "35 setHostnameAsFQDN b?; 36 os m:core.v1.PodOS?; 37 hostUsers b?; "
        "38 schedulingGates m:core.v1.PodSchedulingGate*; "
        "39 resourceClaims m:core.v1.PodResourceClaim*; "
        "40 resources m:core.v1.ResourceRequirements?; 41 hostnameOverride s?; "
        "43 schedulingGroup m:core.v1.PodSchedulingGroup?; "
        "44 evictionResponders m:core.v1.EvictionResponder*"),
    "core.v1.PodStatus": (
        "17 observedGeneration i; 1 phase s; 2 conditions m:core.v1.PodCondition*; 3 message s; "
        "4 reason s; 11 nominatedNodeName s; 5 hostIP s; 16 hostIPs m:core.v1.HostIP*; 6 podIP s; "
        "12 podIPs m:core.v1.PodIP*; 7 startTime t?; "
        "10 initContainerStatuses m:core.v1.ContainerStatus*; "
        "8 containerStatuses m:core.v1.ContainerStatus*; 9 qosClass s; "
        "13 ephemeralContainerStatuses m:core.v1.ContainerStatus*; 14 resize s; "
        "15 resourceClaimStatuses m:core.v1.PodResourceClaimStatus*; "
        "18 extendedResourceClaimStatus m:core.v1.PodExtendedResourceClaimStatus?; "
        "19 allocatedResources {q}; 20 resources m:core.v1.ResourceRequirements?; "
        "21 nodeAllocatableResourceClaimStatuses m:core.v1.NodeAllocatableResourceClaimStatus*; "
        "22 volumeHealth m:core.v1.PodVolumeHealth*"),
    "core.v1.PodTemplateSpec": "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.PodSpec",
    "core.v1.PodVolumeHealth": (
        "1 name s!; 2 healthConditions m:core.v1.VolumeHealthCondition*; 3 lastTransitionTime t"),
    "core.v1.PortStatus": "1 port i!; 2 protocol s!; 3 error s?",
    "core.v1.PortworxVolumeSource": "1 volumeID s!; 2 fsType s; 3 readOnly b",
    "core.v1.PreferredSchedulingTerm": "1 weight i!; 2 preference m:core.v1.NodeSelectorTerm",
    "core.v1.Probe": (
        "1 - m:core.v1.ProbeHandler; 2 initialDelaySeconds i; 3 timeoutSeconds i; "
        "4 periodSeconds i; 5 successThreshold i; 6 failureThreshold i; "
        "7 terminationGracePeriodSeconds i?"),
    "core.v1.ProbeHandler": (
        "1 exec m:core.v1.ExecAction?; 2 httpGet m:core.v1.HTTPGetAction?; "
        "3 tcpSocket m:core.v1.TCPSocketAction?; 4 grpc m:core.v1.GRPCAction?"),
    "core.v1.ProjectedVolumeSource": (
        "1 sources m:core.v1.VolumeProjection*; 2 defaultMode i?; 3 defaultUser i?"),
    "core.v1.QuobyteVolumeSource": (
        "1 registry s!; 2 volume s!; 3 readOnly b; 4 user s; 5 group s; 6 tenant s"),
    "core.v1.RBDVolumeSource": (
        "1 monitors s*; 2 image s!; 3 fsType s; 4 pool s; 5 user s; 6 keyring s; "
        "7 secretRef m:core.v1.LocalObjectReference?; 8 readOnly b"),
    "core.v1.ResourceClaim": "1 name s!; 2 request s",
    "core.v1.ResourceFieldSelector": "1 containerName s; 2 resource s!; 3 divisor q",
    "core.v1.ResourceHealth": "1 resourceID s!; 2 health s; 6 message s?",
    "core.v1.ResourceQuota": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.ResourceQuotaSpec; "
        "3 status m:core.v1.ResourceQuotaStatus"),
    "core.v1.ResourceQuotaSpec": (
        "1 hard {q}; 2 scopes s*; 3 scopeSelector m:core.v1.ScopeSelector?"),
    "core.v1.ResourceQuotaStatus": "1 hard {q}; 2 used {q}",
    "core.v1.ResourceRequirements": (
        "1 limits {q}; 2 requests {q}; 3 claims m:core.v1.ResourceClaim*"),
    "core.v1.ResourceStatus": "1 name s!; 2 resources m:core.v1.ResourceHealth*",
    "core.v1.SELinuxOptions": "1 user s; 2 role s; 3 type s; 4 level s",
    "core.v1.ScaleIOVolumeSource": (
        "1 gateway s!; 2 system s!; 3 secretRef m:core.v1.LocalObjectReference?; 4 sslEnabled b; "
        "5 protectionDomain s; 6 storagePool s; 7 storageMode s; 8 volumeName s; 9 fsType s; "
        "10 readOnly b"),
    "core.v1.ScopeSelector": "1 matchExpressions m:core.v1.ScopedResourceSelectorRequirement*",
    "core.v1.ScopedResourceSelectorRequirement": "1 scopeName s!; 2 operator s!; 3 values s*",
    "core.v1.SeccompProfile": "1 type s!; 2 localhostProfile s?",
    "core.v1.Secret": (
        "1 metadata m:meta.v1.ObjectMeta; 5 immutable b?; 2 data {y}; 4 stringData {s}; 3 type s"),
    "core.v1.SecretEnvSource": "1 - m:core.v1.LocalObjectReference; 2 optional b?",
    "core.v1.SecretKeySelector": "1 - m:core.v1.LocalObjectReference; 2 key s!; 3 optional b?",
    "core.v1.SecretProjection": (
        "1 - m:core.v1.LocalObjectReference; 2 items m:core.v1.KeyToPath*; 4 optional b?"),
    "core.v1.SecretVolumeSource": (
        "1 secretName s; 2 items m:core.v1.KeyToPath*; 3 defaultMode i?; 4 optional b?; "
        "5 defaultUser i?"),
    "core.v1.SecurityContext": (
        "1 capabilities m:core.v1.Capabilities?; 2 privileged b?; "
        "3 seLinuxOptions m:core.v1.SELinuxOptions?; "
        "10 windowsOptions m:core.v1.WindowsSecurityContextOptions?; 4 runAsUser i?; "
        "8 runAsGroup i?; 5 runAsNonRoot b?; 6 readOnlyRootFilesystem b?; "
        "7 allowPrivilegeEscalation b?; 9 procMount s?; "
        "11 seccompProfile m:core.v1.SeccompProfile?; "
        "12 appArmorProfile m:core.v1.AppArmorProfile?"),
    "core.v1.Service": (
        "1 metadata m:meta.v1.ObjectMeta; 2 spec m:core.v1.ServiceSpec; "
        "3 status m:core.v1.ServiceStatus"),
    "core.v1.ServiceAccount": (
        "1 metadata m:meta.v1.ObjectMeta; 2 secrets m:core.v1.ObjectReference*; "
        "3 imagePullSecrets m:core.v1.LocalObjectReference*; 4 automountServiceAccountToken b?"),
    "core.v1.ServiceAccountTokenProjection": (
        "1 audience s; 2 expirationSeconds i?; 3 path s!; 4 user i?"),
    "core.v1.ServicePort": (
        "1 name s; 2 protocol s; 6 appProtocol s?; 3 port i!; 4 targetPort n; 5 nodePort i"),
    "core.v1.ServiceSpec": (
        "1 ports m:core.v1.ServicePort*; 2 selector {s}; 3 clusterIP s; 18 clusterIPs s*; "
        "4 type s; 5 externalIPs s*; 7 sessionAffinity s; 8 loadBalancerIP s; "
        "9 loadBalancerSourceRanges s*; 10 externalName s; 11 externalTrafficPolicy s; "
        "12 healthCheckNodePort i; 13 publishNotReadyAddresses b; "
        "14 sessionAffinityConfig m:core.v1.SessionAffinityConfig?; 19 ipFamilies s*; "
        "17 ipFamilyPolicy s?; 20 allocateLoadBalancerNodePorts b?; 21 loadBalancerClass s?; "
        "22 internalTrafficPolicy s?; 23 trafficDistribution s?"),
    "core.v1.ServiceStatus": (
        "1 loadBalancer m:core.v1.LoadBalancerStatus; 2 conditions m:meta.v1.Condition*"),
    "core.v1.SessionAffinityConfig": "1 clientIP m:core.v1.ClientIPConfig?",
    "core.v1.SleepAction": "1 seconds i!",
    "core.v1.StorageOSVolumeSource": (
        "1 volumeName s; 2 volumeNamespace s; 3 fsType s; 4 readOnly b; "
        "5 secretRef m:core.v1.LocalObjectReference?"),
    "core.v1.Sysctl": "1 name s!; 2 value s!",
    "core.v1.TCPSocketAction": "1 port n!; 2 host s",
    "core.v1.Toleration": "1 key s; 2 operator s; 3 value s; 4 effect s; 5 tolerationSeconds i?",
    "core.v1.TopologySpreadConstraint": (
        "1 maxSkew i!; 2 topologyKey s!; 3 whenUnsatisfiable s!; "
        "4 labelSelector m:meta.v1.LabelSelector?; 5 minDomains i?; 6 nodeAffinityPolicy s?; "
        "7 nodeTaintsPolicy s?; 8 matchLabelKeys s*"),
    "core.v1.TypedLocalObjectReference": "1 apiGroup s?; 2 kind s!; 3 name s!",
    "core.v1.TypedObjectReference": "1 apiGroup s?; 2 kind s!; 3 name s!; 4 namespace s?",
    "core.v1.Volume": "1 name s!; 2 - m:core.v1.VolumeSource",
    "core.v1.VolumeDevice": "1 name s!; 2 devicePath s!",
    "core.v1.VolumeHealthCondition": "1 status s!; 2 reason s!; 3 message s",
    "core.v1.VolumeHealthStatus": (
        "1 healthConditions m:core.v1.VolumeHealthCondition*; 2 lastTransitionTime t"),
    "core.v1.VolumeMount": (
        "1 name s!; 2 readOnly b; 7 recursiveReadOnly s?; 3 mountPath s!; 4 subPath s; "
        "5 mountPropagation s?; 6 subPathExpr s; 8 bindMountOptions s*"),
    "core.v1.VolumeMountStatus": (
        "1 name s!; 2 mountPath s!; 3 readOnly b; 4 recursiveReadOnly s?; "
        "5 volumeStatus m:core.v1.VolumeStatus?"),
    "core.v1.VolumeProjection": (
        "1 secret m:core.v1.SecretProjection?; 2 downwardAPI m:core.v1.DownwardAPIProjection?; "
        "3 configMap m:core.v1.ConfigMapProjection?; "
        "4 serviceAccountToken m:core.v1.ServiceAccountTokenProjection?; "
        "5 clusterTrustBundle m:core.v1.ClusterTrustBundleProjection?; "
        "6 podCertificate m:core.v1.PodCertificateProjection?"),
    "core.v1.VolumeResourceRequirements": "1 limits {q}; 2 requests {q}",
    "core.v1.VolumeSource": (
        "1 hostPath m:core.v1.HostPathVolumeSource?; 2 emptyDir m:core.v1.EmptyDirVolumeSource?; "
        "6 secret m:core.v1.SecretVolumeSource?; "
        "10 persistentVolumeClaim m:core.v1.PersistentVolumeClaimVolumeSource?; "
        "16 downwardAPI m:core.v1.DownwardAPIVolumeSource?; "
        "19 configMap m:core.v1.ConfigMapVolumeSource?; "
        "26 projected m:core.v1.ProjectedVolumeSource?"),
    "core.v1.VolumeStatus": "1 image m:core.v1.ImageVolumeStatus?",
    "core.v1.VsphereVirtualDiskVolumeSource": (
        "1 volumePath s!; 2 fsType s; 3 storagePolicyName s; 4 storagePolicyID s"),
    "core.v1.WeightedPodAffinityTerm": "1 weight i!; 2 podAffinityTerm m:core.v1.PodAffinityTerm",
    "core.v1.WindowsSecurityContextOptions": (
        "1 gmsaCredentialSpecName s?; 2 gmsaCredentialSpec s?; 3 runAsUserName s?; "
        "4 hostProcess b?"),
    "meta.v1.Condition": (
        "1 type s!; 2 status s!; 3 observedGeneration i; 4 lastTransitionTime t!; 5 reason s!; "
        "6 message s!"),
    "meta.v1.DeleteOptions": (
        "1 gracePeriodSeconds i?; 2 preconditions m:meta.v1.Preconditions?; 3 orphanDependents b?; "
        "4 propagationPolicy s?; 5 dryRun s*; "
        "6 ignoreStoreReadErrorWithClusterBreakingPotential b?"),
    "meta.v1.FieldSelectorRequirement": "1 key s!; 2 operator s!; 3 values s*",
    "meta.v1.LabelSelector": (
        "1 matchLabels {s}; 2 matchExpressions m:meta.v1.LabelSelectorRequirement*"),
    "meta.v1.LabelSelectorRequirement": "1 key s!; 2 operator s!; 3 values s*",
    "meta.v1.ManagedFieldsEntry": (
        "1 manager s; 2 operation s; 3 apiVersion s; 4 time t?; 6 fieldsType s; 7 fieldsV1 r?; "
        "8 subresource s"),
    "meta.v1.ObjectMeta": (
        "1 name s; 2 generateName s; 3 namespace s; 4 selfLink s; 5 uid s; 6 resourceVersion s; "
        "7 generation i; 8 creationTimestamp t; 9 deletionTimestamp t?; "
        "10 deletionGracePeriodSeconds i?; 11 labels {s}; 12 annotations {s}; "
        "13 ownerReferences m:meta.v1.OwnerReference*; 14 finalizers s*; "
        "17 managedFields m:meta.v1.ManagedFieldsEntry*"),
    "meta.v1.OwnerReference": (
        "5 apiVersion s!; 1 kind s!; 3 name s!; 4 uid s!; 6 controller b?; "
        "7 blockOwnerDeletion b?"),
    "meta.v1.Preconditions": "1 uid s?; 2 resourceVersion s?",
    "policy.v1.Eviction": (
        "1 metadata m:meta.v1.ObjectMeta; 2 deleteOptions m:meta.v1.DeleteOptions?"),
    "rbac.v1.AggregationRule": "1 clusterRoleSelectors m:meta.v1.LabelSelector*",
    "rbac.v1.ClusterRole": (
        "1 metadata m:meta.v1.ObjectMeta; 2 rules m:rbac.v1.PolicyRule*; "
        "3 aggregationRule m:rbac.v1.AggregationRule?"),
    "rbac.v1.ClusterRoleBinding": (
        "1 metadata m:meta.v1.ObjectMeta; 2 subjects m:rbac.v1.Subject*; "
        "3 roleRef m:rbac.v1.RoleRef"),
    "rbac.v1.PolicyRule": (
        "1 verbs s*; 2 apiGroups s*; 3 resources s*; 4 resourceNames s*; 5 nonResourceURLs s*"),
    "rbac.v1.Role": "1 metadata m:meta.v1.ObjectMeta; 2 rules m:rbac.v1.PolicyRule*",
    "rbac.v1.RoleBinding": (
        "1 metadata m:meta.v1.ObjectMeta; 2 subjects m:rbac.v1.Subject*; "
        "3 roleRef m:rbac.v1.RoleRef"),
    "rbac.v1.RoleRef": "1 apiGroup s!; 2 kind s!; 3 name s!",
    "rbac.v1.Subject": "1 kind s!; 2 apiGroup s; 3 name s!; 4 namespace s",
}
