# Print, as JSON, what the Vagrantfile in the current directory gives each VM:
# its synced folders and provisioners, as Vagrant itself loads them (no
# provider needed). Used by tests/unit/test_cluster_vagrant.py.
require "json"
require "vagrant"

env = Vagrant::Environment.new(cwd: Dir.pwd)
plan = env.machine_names.to_h do |name|
  config = env.vagrantfile.machine_config(name, nil, env.boxes, nil, false)[:config]
  synced = config.vm.synced_folders.values.map do |f|
    {host: File.expand_path(f[:hostpath], Dir.pwd), guest: f[:guestpath],
     disabled: !!f[:disabled], type: f[:type].to_s, exclude: f[:rsync__exclude] || []}
  end
  provisioners = config.vm.provisioners.map do |p|
    c = p.config
    {name: p.name.to_s, type: p.type.to_s,
     source: p.type == :file ? File.expand_path(c.source, Dir.pwd) : nil,
     destination: p.type == :file ? c.destination : nil,
     inline: p.type == :shell ? c.inline.to_s : nil}
  end
  [name, {synced: synced, provisioners: provisioners}]
end
puts JSON.generate(plan)
