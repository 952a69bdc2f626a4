"""Definitions of the core group (``v1``): pods and their parts, services,
endpoints, nodes, namespaces, config maps, secrets, events. Field names and
definition names are Kubernetes'; subtrees we keep without checking them
field by field (affinity, security contexts, volume sources) are open objects."""

from __future__ import annotations

from .dsl import (
    Schema,
    boolean,
    int32,
    int64,
    int_or_string,
    labels,
    list_of,
    map_of,
    obj,
    obj_of,
    open_object,
    quantity,
    ref,
    string,
    strings,
    time,
)
from .meta import META, type_meta

CORE = "io.k8s.api.core.v1."


def _kind(description: str, spec: str | None, status: str | None, **extra: Schema) -> Schema:
    props = type_meta()
    if spec:
        props["spec"] = ref(CORE + spec, f"Spec defines the behavior of the {description}.")
    if status:
        props["status"] = ref(CORE + status, "Most recently observed status. Read-only.")
    return obj_of(f"{description[0].upper()}{description[1:]}.", {**props, **extra})


_PROBE_HANDLERS = dict(
    exec=ref(CORE + "ExecAction", "Exec specifies a command to execute in the container."),
    httpGet=ref(CORE + "HTTPGetAction", "HTTPGet specifies an HTTP GET request to perform."),
    tcpSocket=ref(CORE + "TCPSocketAction", "TCPSocket specifies a connection to a TCP port."),
    grpc=ref(CORE + "GRPCAction", "GRPC specifies a GRPC HealthCheckRequest."),
)

CONTAINER = obj(
    "A single application container that you want to run within a pod.",
    required=("name",),
    name=string("Name of the container specified as a DNS_LABEL. Each container in a pod "
                "must have a unique name. Cannot be updated."),
    image=string("Container image name."),
    imagePullPolicy=string("Image pull policy. Defaults to Always if :latest tag is "
                           "specified, or IfNotPresent otherwise.",
                           ("Always", "IfNotPresent", "Never")),
    command=strings("Entrypoint array. Not executed within a shell. The container image's "
                    "ENTRYPOINT is used if this is not provided."),
    args=strings("Arguments to the entrypoint. The container image's CMD is used if this is "
                 "not provided."),
    workingDir=string("Container's working directory."),
    ports=list_of(ref(CORE + "ContainerPort"), "List of ports to expose from the container."),
    env=list_of(ref(CORE + "EnvVar"), "List of environment variables to set in the container."),
    envFrom=list_of(ref(CORE + "EnvFromSource"),
                    "List of sources to populate environment variables in the container."),
    resources=ref(CORE + "ResourceRequirements", "Compute Resources required by this container."),
    resizePolicy=list_of(open_object(), "Resources resize policy for the container."),
    restartPolicy=string("RestartPolicy defines the restart behavior of individual containers "
                         "in a pod (only Always, for sidecar init containers)."),
    volumeMounts=list_of(ref(CORE + "VolumeMount"),
                         "Pod volumes to mount into the container's filesystem."),
    volumeDevices=list_of(open_object(), "volumeDevices is the list of block devices to be "
                                         "used by the container."),
    livenessProbe=ref(CORE + "Probe", "Periodic probe of container liveness. Container will "
                                      "be restarted if the probe fails."),
    readinessProbe=ref(CORE + "Probe", "Periodic probe of container service readiness. "
                                       "Container will be removed from service endpoints if "
                                       "the probe fails."),
    startupProbe=ref(CORE + "Probe", "StartupProbe indicates that the Pod has successfully "
                                     "initialized."),
    lifecycle=open_object("Actions that the management system should take in response to "
                          "container lifecycle events."),
    terminationMessagePath=string(),
    terminationMessagePolicy=string(),
    securityContext=open_object("SecurityContext defines the security options the container "
                                "should be run with."),
    stdin=boolean(),
    stdinOnce=boolean(),
    tty=boolean(),
)

DEFINITIONS: dict[str, Schema] = {
    CORE + "Container": CONTAINER,
    CORE + "ContainerPort": obj(
        "ContainerPort represents a network port in a single container.",
        required=("containerPort",),
        containerPort=int32("Number of port to expose on the pod's IP address."),
        name=string("If specified, this must be an IANA_SVC_NAME and unique within the pod."),
        protocol=string("Protocol for port. Defaults to \"TCP\".", ("SCTP", "TCP", "UDP")),
        hostPort=int32("Number of port to expose on the host."),
        hostIP=string("What host IP to bind the external port to."),
    ),
    CORE + "EnvVar": obj(
        "EnvVar represents an environment variable present in a Container.",
        required=("name",),
        name=string("Name of the environment variable."),
        value=string("Variable references $(VAR_NAME) are expanded using the previously "
                     "defined environment variables in the container."),
        valueFrom=ref(CORE + "EnvVarSource", "Source for the environment variable's value."),
    ),
    CORE + "EnvVarSource": obj(
        "EnvVarSource represents a source for the value of an EnvVar.",
        fieldRef=open_object("Selects a field of the pod."),
        resourceFieldRef=open_object("Selects a resource of the container."),
        configMapKeyRef=open_object("Selects a key of a ConfigMap."),
        secretKeyRef=open_object("Selects a key of a secret in the pod's namespace."),
    ),
    CORE + "EnvFromSource": obj(
        "EnvFromSource represents the source of a set of ConfigMaps or Secrets.",
        prefix=string("An optional identifier to prepend to each key."),
        configMapRef=open_object("The ConfigMap to select from."),
        secretRef=open_object("The Secret to select from."),
    ),
    CORE + "ResourceRequirements": obj(
        "ResourceRequirements describes the compute resource requirements.",
        limits=map_of(quantity(), "Limits describes the maximum amount of compute resources "
                                  "allowed."),
        requests=map_of(quantity(), "Requests describes the minimum amount of compute "
                                    "resources required."),
        claims=list_of(open_object(), "Claims lists the names of resources, defined in "
                                      "spec.resourceClaims, that are used by this container."),
    ),
    CORE + "VolumeMount": obj(
        "VolumeMount describes a mounting of a Volume within a container.",
        required=("name", "mountPath"),
        name=string("This must match the Name of a Volume."),
        mountPath=string("Path within the container at which the volume should be mounted."),
        subPath=string("Path within the volume from which the container's volume should be "
                       "mounted."),
        subPathExpr=string(),
        readOnly=boolean("Mounted read-only if true, read-write otherwise (false or "
                         "unspecified)."),
        recursiveReadOnly=string(),
        mountPropagation=string(),
    ),
    CORE + "Volume": Schema(
        "object", "Volume represents a named volume in a pod that may be accessed by any "
                  "container in the pod. Besides name, exactly one volume source "
                  "(emptyDir, configMap, secret, hostPath, ...).",
        properties={"name": string("name of the volume. Must be a DNS_LABEL and unique within "
                                   "the pod.")},
        required=("name",), open=True),
    CORE + "Probe": obj_of(
        "Probe describes a health check to be performed against a container to determine "
        "whether it is alive or ready to receive traffic.", dict(
        **_PROBE_HANDLERS,
        initialDelaySeconds=int32("Number of seconds after the container has started before "
                                  "probes are initiated."),
        timeoutSeconds=int32("Number of seconds after which the probe times out. Defaults "
                             "to 1 second."),
        periodSeconds=int32("How often (in seconds) to perform the probe. Default to 10 "
                            "seconds."),
        successThreshold=int32("Minimum consecutive successes for the probe to be considered "
                               "successful after having failed."),
        failureThreshold=int32("Minimum consecutive failures for the probe to be considered "
                               "failed after having succeeded. Defaults to 3."),
        terminationGracePeriodSeconds=int64(),
    )),
    CORE + "ExecAction": obj("ExecAction describes a \"run in container\" action.",
                             command=strings("Command is the command line to execute inside "
                                             "the container.")),
    CORE + "HTTPGetAction": obj(
        "HTTPGetAction describes an action based on HTTP Get requests.",
        required=("port",),
        path=string("Path to access on the HTTP server."),
        port=int_or_string("Name or number of the port to access on the container."),
        host=string("Host name to connect to, defaults to the pod IP."),
        scheme=string("Scheme to use for connecting to the host. Defaults to HTTP.",
                      ("HTTP", "HTTPS")),
        httpHeaders=list_of(open_object(), "Custom headers to set in the request."),
    ),
    CORE + "TCPSocketAction": obj(
        "TCPSocketAction describes an action based on opening a socket.",
        required=("port",),
        port=int_or_string("Number or name of the port to access on the container."),
        host=string("Optional: Host name to connect to, defaults to the pod IP."),
    ),
    CORE + "GRPCAction": obj("GRPCAction specifies an action involving a GRPC service.",
                             required=("port",),
                             port=int32("Port number of the gRPC service."),
                             service=string()),
    CORE + "Toleration": obj(
        "The pod this Toleration is attached to tolerates any taint that matches the triple "
        "<key,value,effect> using the matching operator <operator>.",
        key=string("Key is the taint key that the toleration applies to."),
        operator=string("Operator represents a key's relationship to the value.",
                        ("Equal", "Exists")),
        value=string("Value is the taint value the toleration matches to."),
        effect=string("Effect indicates the taint effect to match.",
                      ("NoExecute", "NoSchedule", "PreferNoSchedule")),
        tolerationSeconds=int64(),
    ),
    CORE + "LocalObjectReference": obj(
        "LocalObjectReference contains enough information to let you locate the referenced "
        "object inside the same namespace.", name=string("Name of the referent.")),
    CORE + "PodSpec": obj(
        "PodSpec is a description of a pod.",
        required=("containers",),
        containers=list_of(ref(CORE + "Container"),
                           "List of containers belonging to the pod. There must be at least "
                           "one container in a Pod. Cannot be updated."),
        initContainers=list_of(ref(CORE + "Container"),
                               "List of initialization containers belonging to the pod."),
        ephemeralContainers=list_of(open_object(), "List of ephemeral containers run in "
                                                   "this pod."),
        volumes=list_of(ref(CORE + "Volume"), "List of volumes that can be mounted by "
                                              "containers belonging to the pod."),
        restartPolicy=string("Restart policy for all containers within the pod. Default to "
                             "Always.", ("Always", "Never", "OnFailure")),
        terminationGracePeriodSeconds=int64("Optional duration in seconds the pod needs to "
                                            "terminate gracefully. Defaults to 30 seconds."),
        activeDeadlineSeconds=int64(),
        dnsPolicy=string("Set DNS policy for the pod. Defaults to \"ClusterFirst\"."),
        dnsConfig=open_object(),
        nodeSelector=labels("NodeSelector is a selector which must be true for the pod to "
                            "fit on a node."),
        nodeName=string("NodeName indicates in which node this pod is scheduled."),
        serviceAccountName=string(),
        serviceAccount=string(),
        automountServiceAccountToken=boolean(),
        hostNetwork=boolean(),
        hostPID=boolean(),
        hostIPC=boolean(),
        hostUsers=boolean(),
        shareProcessNamespace=boolean(),
        securityContext=open_object("SecurityContext holds pod-level security attributes."),
        imagePullSecrets=list_of(ref(CORE + "LocalObjectReference"),
                                 "References to secrets for pulling any of the images."),
        hostname=string(),
        subdomain=string(),
        setHostnameAsFQDN=boolean(),
        affinity=open_object("If specified, the pod's scheduling constraints."),
        schedulerName=string(),
        tolerations=list_of(ref(CORE + "Toleration"), "If specified, the pod's tolerations."),
        hostAliases=list_of(open_object(), "HostAliases is an optional list of hosts and IPs "
                                           "that will be injected into the pod's hosts file."),
        priorityClassName=string(),
        priority=int32(),
        preemptionPolicy=string(),
        readinessGates=list_of(obj("PodReadinessGate contains the reference to a pod "
                                   "condition", conditionType=string()),
                               "If specified, all readiness gates will be evaluated for pod "
                               "readiness."),
        runtimeClassName=string(),
        enableServiceLinks=boolean(),
        overhead=map_of(quantity()),
        topologySpreadConstraints=list_of(open_object()),
        os=open_object(),
        schedulingGates=list_of(open_object()),
        resourceClaims=list_of(open_object()),
        resources=ref(CORE + "ResourceRequirements"),
    ),
    CORE + "PodTemplateSpec": obj(
        "PodTemplateSpec describes the data a pod should have when created from a template",
        metadata=ref(META + "ObjectMeta", "Standard object's metadata."),
        spec=ref(CORE + "PodSpec", "Specification of the desired behavior of the pod."),
    ),
    CORE + "PodCondition": obj(
        "PodCondition contains details for the current condition of this pod.",
        required=("type", "status"),
        type=string(), status=string(), reason=string(), message=string(),
        lastProbeTime=time(), lastTransitionTime=time(), observedGeneration=int64(),
    ),
    CORE + "ContainerStatus": obj(
        "ContainerStatus contains details for the current status of this container.",
        name=string(), image=string(), imageID=string(), containerID=string(),
        ready=boolean(), started=boolean(), restartCount=int32(),
        state=open_object("State holds details about the container's current condition."),
        lastState=open_object("LastTerminationState holds the last termination state of "
                              "the container."),
        resources=ref(CORE + "ResourceRequirements"),
        allocatedResources=map_of(quantity()),
        volumeMounts=list_of(open_object()),
        user=open_object(), allocatedResourcesStatus=list_of(open_object()),
        stopSignal=string(),
    ),
    CORE + "PodStatus": obj(
        "PodStatus represents information about the status of a pod.",
        phase=string("The phase of a Pod is a simple, high-level summary of where the Pod is "
                     "in its lifecycle.", ("Pending", "Running", "Succeeded", "Failed",
                                           "Unknown")),
        conditions=list_of(ref(CORE + "PodCondition"), "Current service state of pod."),
        message=string(), reason=string(),
        nominatedNodeName=string(),
        hostIP=string(), hostIPs=list_of(obj(ip=string())),
        podIP=string(), podIPs=list_of(obj(ip=string())),
        startTime=time(),
        initContainerStatuses=list_of(ref(CORE + "ContainerStatus")),
        containerStatuses=list_of(ref(CORE + "ContainerStatus")),
        ephemeralContainerStatuses=list_of(ref(CORE + "ContainerStatus")),
        qosClass=string("The Quality of Service (QOS) classification assigned to the pod.",
                        ("BestEffort", "Burstable", "Guaranteed")),
        resize=string(), resourceClaimStatuses=list_of(open_object()),
        observedGeneration=int64(),
    ),
    CORE + "Pod": _kind("pod: a collection of containers that can run on a host",
                        "PodSpec", "PodStatus"),
    CORE + "ServicePort": obj(
        "ServicePort contains information on service's port.",
        required=("port",),
        name=string("The name of this port within the service."),
        protocol=string("The IP protocol for this port. Default is TCP.", ("SCTP", "TCP", "UDP")),
        appProtocol=string(),
        port=int32("The port that will be exposed by this service."),
        targetPort=int_or_string("Number or name of the port to access on the pods targeted "
                                 "by the service."),
        nodePort=int32("The port on each node on which this service is exposed when type is "
                       "NodePort or LoadBalancer."),
    ),
    CORE + "ServiceSpec": obj(
        "ServiceSpec describes the attributes that a user creates on a service.",
        ports=list_of(ref(CORE + "ServicePort"), "The list of ports that are exposed by this "
                                                 "service."),
        selector=labels("Route service traffic to pods with label keys and values matching "
                        "this selector."),
        clusterIP=string("clusterIP is the IP address of the service and is usually assigned "
                         "randomly."),
        clusterIPs=strings(),
        type=string("type determines how the Service is exposed. Defaults to ClusterIP.",
                    ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")),
        externalIPs=strings(),
        sessionAffinity=string(), sessionAffinityConfig=open_object(),
        loadBalancerIP=string(), loadBalancerSourceRanges=strings(), loadBalancerClass=string(),
        externalName=string(), externalTrafficPolicy=string(), internalTrafficPolicy=string(),
        healthCheckNodePort=int32(), publishNotReadyAddresses=boolean(),
        ipFamilies=strings(), ipFamilyPolicy=string(),
        allocateLoadBalancerNodePorts=boolean(), trafficDistribution=string(),
    ),
    CORE + "ServiceStatus": obj(
        "ServiceStatus represents the current status of a service.",
        loadBalancer=open_object("LoadBalancer contains the current status of the "
                                 "load-balancer, if one is present."),
        conditions=list_of(ref(META + "Condition"), "Current service state"),
    ),
    CORE + "Service": _kind("service: a named abstraction of software service (for example, "
                            "mysql) consisting of local port that the proxy listens on, and "
                            "the selector that determines which pods will answer requests "
                            "sent through the proxy", "ServiceSpec", "ServiceStatus"),
    CORE + "ObjectReference": obj(
        "ObjectReference contains enough information to let you inspect or modify the "
        "referred object.",
        kind=string(), namespace=string(), name=string(), uid=string(), apiVersion=string(),
        resourceVersion=string(), fieldPath=string(),
    ),
    CORE + "EndpointAddress": obj(
        "EndpointAddress is a tuple that describes single IP address.",
        required=("ip",),
        ip=string("The IP of this endpoint."), hostname=string(), nodeName=string(),
        targetRef=ref(CORE + "ObjectReference", "Reference to object providing the endpoint."),
    ),
    CORE + "EndpointPort": obj(
        "EndpointPort is a tuple that describes a single port.",
        required=("port",),
        name=string(), port=int32(), protocol=string(), appProtocol=string(),
    ),
    CORE + "EndpointSubset": obj(
        "EndpointSubset is a group of addresses with a common set of ports.",
        addresses=list_of(ref(CORE + "EndpointAddress"), "IP addresses which offer the related "
                                                         "ports that are marked as ready."),
        notReadyAddresses=list_of(ref(CORE + "EndpointAddress"),
                                  "IP addresses which offer the related ports but are not "
                                  "currently marked as ready."),
        ports=list_of(ref(CORE + "EndpointPort"), "Port numbers available on the related IP "
                                                  "addresses."),
    ),
    CORE + "Endpoints": _kind("set of endpoints that implement the actual service", None, None,
                              subsets=list_of(ref(CORE + "EndpointSubset"),
                                              "The set of all endpoints is the union of all "
                                              "subsets.")),
    CORE + "Taint": obj(
        "The node this Taint is attached to has the \"effect\" on any pod that does not "
        "tolerate the Taint.",
        required=("key", "effect"),
        key=string(), value=string(),
        effect=string(enum=("NoExecute", "NoSchedule", "PreferNoSchedule")),
        timeAdded=time(),
    ),
    CORE + "NodeSpec": obj(
        "NodeSpec describes the attributes that a node is created with.",
        podCIDR=string("PodCIDR represents the pod IP range assigned to the node."),
        podCIDRs=strings(), providerID=string(),
        unschedulable=boolean("Unschedulable controls node schedulability of new pods."),
        taints=list_of(ref(CORE + "Taint"), "If specified, the node's taints."),
        configSource=open_object(), externalID=string(),
    ),
    CORE + "NodeCondition": obj(
        "NodeCondition contains condition information for a node.",
        required=("type", "status"),
        type=string(), status=string(), reason=string(), message=string(),
        lastHeartbeatTime=time(), lastTransitionTime=time(),
    ),
    CORE + "NodeAddress": obj("NodeAddress contains information for the node's address.",
                              required=("type", "address"), type=string(), address=string()),
    CORE + "NodeSystemInfo": obj(
        "NodeSystemInfo is a set of ids/uuids to uniquely identify the node.",
        machineID=string(), systemUUID=string(), bootID=string(), kernelVersion=string(),
        osImage=string(), containerRuntimeVersion=string(), kubeletVersion=string(),
        kubeProxyVersion=string(), operatingSystem=string(), architecture=string(),
        swap=open_object(),
    ),
    CORE + "NodeStatus": obj(
        "NodeStatus is information about the current status of a node.",
        capacity=map_of(quantity()), allocatable=map_of(quantity()),
        phase=string(),
        conditions=list_of(ref(CORE + "NodeCondition")),
        addresses=list_of(ref(CORE + "NodeAddress")),
        daemonEndpoints=open_object(),
        nodeInfo=ref(CORE + "NodeSystemInfo"),
        images=list_of(open_object()), volumesInUse=strings(), volumesAttached=list_of(
            open_object()),
        config=open_object(), runtimeHandlers=list_of(open_object()), features=open_object(),
    ),
    CORE + "Node": _kind("node: a worker node", "NodeSpec", "NodeStatus"),
    CORE + "NamespaceSpec": obj("NamespaceSpec describes the attributes on a Namespace.",
                                finalizers=strings()),
    CORE + "NamespaceStatus": obj(
        "NamespaceStatus is information about the current status of a Namespace.",
        phase=string(enum=("Active", "Terminating")),
        conditions=list_of(open_object())),
    CORE + "Namespace": _kind("namespace: a scope for names", "NamespaceSpec", "NamespaceStatus"),
    CORE + "ConfigMap": _kind(
        "configMap: configuration data for pods to consume", None, None,
        data=labels("Data contains the configuration data."),
        binaryData=map_of(string(format="byte"), "BinaryData contains the binary data."),
        immutable=boolean("Immutable, if set to true, ensures that data stored in the "
                          "ConfigMap cannot be updated.")),
    CORE + "Secret": _kind(
        "secret: secret data of a certain type", None, None,
        data=map_of(string(format="byte"), "Data contains the secret data, base64 encoded."),
        stringData=labels("stringData allows specifying non-binary secret data in string "
                          "form; it is merged into data on write."),
        type=string("Used to facilitate programmatic handling of secret data."),
        immutable=boolean()),
    CORE + "EventSource": obj("EventSource contains information for an event.",
                              component=string(), host=string()),
    CORE + "Event": _kind(
        "event: a report of an event somewhere in the cluster", None, None,
        involvedObject=ref(CORE + "ObjectReference", "The object that this event is about."),
        reason=string(), message=string(), type=string(),
        source=ref(CORE + "EventSource"),
        firstTimestamp=time(), lastTimestamp=time(), eventTime=string(format="date-time"),
        count=int32(), action=string(), reportingComponent=string(),
        reportingInstance=string(), related=ref(CORE + "ObjectReference"),
        series=open_object()),
}

