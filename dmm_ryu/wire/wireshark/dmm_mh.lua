--[[
DMM extensions to Wireshark's Mobility Header dissector (RFC 8885).

Wireshark's mip6 dissector (4.0) lists options 65-70 as "IE data not
dissected" and does not know the D flag of the PBU and PBA.  This script
sits in front of it for IPv6 Next Header 135: it calls mip6 unchanged, then,
for MH types 5 (PBU) and 6 (PBA), adds a "DMM" tree with the D flag and the
fields of every RFC 8885 option it finds while walking the mobility options.

Usage:
    tshark -X lua_script:dmm_ryu/wire/wireshark/dmm_mh.lua -r capture.pcap -V
    tshark -X lua_script:dmm_ryu/wire/wireshark/dmm_mh.lua -r capture.pcap \
        -T fields -e dmm.previous_maar.address -e dmm.previous_maar.hnp
    wireshark -X lua_script:dmm_ryu/wire/wireshark/dmm_mh.lua capture.pcap
(or copy the file into ~/.local/lib/wireshark/plugins/ to load it always).

Option type numbers are preferences (dmm.anchored_prefix ... dmm.dlif_link_layer,
defaults 65-70), matching the codec's OptionTypes: e.g. -o dmm.previous_maar:200.

Fields: dmm.bu.d_flag, dmm.ba.d_flag, dmm.option.type, dmm.option.length,
dmm.anchored_prefix.prefix_length, dmm.anchored_prefix.prefix,
dmm.local_prefix.prefix_length, dmm.local_prefix.prefix,
dmm.previous_maar.prefix_length, dmm.previous_maar.address, dmm.previous_maar.hnp,
dmm.serving_maar.address, dmm.dlif_link_local.address, dmm.dlif_link_layer.address.
An option of the wrong Length gets the expert info dmm.bad_length (Malformed).
]]

local dmm = Proto("dmm", "DMM extensions to Proxy Mobile IPv6 (RFC 8885)")

local MH_PROTO = 135
local MH_BU, MH_BA = 5, 6
local OPTIONS_AT = 12 -- PBU and PBA alike: options follow 12 fixed octets
local PAD1 = 0

local f = {
    bu_d_flag = ProtoField.bool("dmm.bu.d_flag", "DMM (D) flag", 16, nil, 0x0010,
                                "Sent by a MAAR or the CMD (RFC 8885 section 4.1)"),
    ba_d_flag = ProtoField.bool("dmm.ba.d_flag", "DMM (D) flag", 8, nil, 0x02,
                                "DMM signalling (RFC 8885 section 4.2)"),
    option_type = ProtoField.uint8("dmm.option.type", "Option Type", base.DEC),
    option_length = ProtoField.uint8("dmm.option.length", "Option Length", base.DEC),
    anchored_plen = ProtoField.uint8("dmm.anchored_prefix.prefix_length", "Prefix Length"),
    anchored_prefix = ProtoField.ipv6("dmm.anchored_prefix.prefix", "Anchored Prefix"),
    local_plen = ProtoField.uint8("dmm.local_prefix.prefix_length", "Prefix Length"),
    local_prefix = ProtoField.ipv6("dmm.local_prefix.prefix", "Local Prefix"),
    pmaar_plen = ProtoField.uint8("dmm.previous_maar.prefix_length", "Prefix Length"),
    pmaar_address = ProtoField.ipv6("dmm.previous_maar.address", "Previous MAAR Address"),
    pmaar_hnp = ProtoField.ipv6("dmm.previous_maar.hnp", "Home Network Prefix"),
    smaar_address = ProtoField.ipv6("dmm.serving_maar.address", "Serving MAAR Address"),
    dlif_ll = ProtoField.ipv6("dmm.dlif_link_local.address", "DLIF Link-local Address"),
    dlif_lla = ProtoField.bytes("dmm.dlif_link_layer.address", "DLIF Link-layer Address",
                                base.COLON),
}
dmm.fields = f

local bad_length = ProtoExpert.new("dmm.bad_length", "DMM option with a wrong Length",
                                   expert.group.MALFORMED, expert.severity.ERROR)
dmm.experts = { bad_length }

-- Each option: preference name, title, RFC 8885 section, Length (exact, or
-- the minimum when `variable`), and how to add the fields of its data.
local function prefix_fields(plen, prefix)
    return function(tree, data)
        tree:add(plen, data(1, 1))
        tree:add(prefix, data(2, 16))
    end
end

local OPTIONS = {
    { pref = "anchored_prefix", default = 65, title = "Anchored Prefix", section = "4.3",
      size = 18, add = prefix_fields(f.anchored_plen, f.anchored_prefix) },
    { pref = "local_prefix", default = 66, title = "Local Prefix", section = "4.4",
      size = 18, add = prefix_fields(f.local_plen, f.local_prefix) },
    { pref = "previous_maar", default = 67, title = "Previous MAAR", section = "4.5",
      size = 34, add = function(tree, data)
          tree:add(f.pmaar_plen, data(1, 1))
          tree:add(f.pmaar_address, data(2, 16))
          tree:add(f.pmaar_hnp, data(18, 16))
      end },
    { pref = "serving_maar", default = 68, title = "Serving MAAR", section = "4.6",
      size = 16, add = function(tree, data) tree:add(f.smaar_address, data(0, 16)) end },
    { pref = "dlif_link_local", default = 69, title = "DLIF Link-local Address",
      section = "4.7", size = 16,
      add = function(tree, data) tree:add(f.dlif_ll, data(0, 16)) end },
    { pref = "dlif_link_layer", default = 70, title = "DLIF Link-layer Address",
      section = "4.8", size = 3, variable = true,
      add = function(tree, data) tree:add(f.dlif_lla, data(2, data:len() - 2)) end },
}

for _, option in ipairs(OPTIONS) do
    dmm.prefs[option.pref] = Pref.uint(option.title .. " option type", option.default,
                                       "RFC 8885 (IANA) number: " .. option.default)
end

local function options_by_type()
    local by_type = {}
    for _, option in ipairs(OPTIONS) do
        by_type[dmm.prefs[option.pref]] = option
    end
    return by_type
end

local function length_ok(option, length)
    if option.variable then
        return length >= option.size
    end
    return length == option.size
end

local function add_option(tree, tvb, pos, length, option)
    local item = tree:add(dmm, tvb(pos, 2 + length),
                          option.title .. " (RFC 8885 section " .. option.section .. ")")
    item:add(f.option_type, tvb(pos, 1))
    item:add(f.option_length, tvb(pos + 1, 1))
    if not length_ok(option, length) then
        item:add_proto_expert_info(bad_length)
        return
    end
    option.add(item, tvb(pos + 2, length))
end

-- Walk the options as RFC 6275 section 6.2.1 lays them out; stop where an
-- option runs past the header (mip6 has flagged that already).
local function walk_options(tree, tvb, stop)
    local by_type = options_by_type()
    local pos = OPTIONS_AT
    while pos < stop do
        local otype = tvb(pos, 1):uint()
        if otype == PAD1 then
            pos = pos + 1
        else
            if pos + 2 > stop then return end
            local length = tvb(pos + 1, 1):uint()
            if pos + 2 + length > stop then return end
            local option = by_type[otype]
            if option then add_option(tree, tvb, pos, length, option) end
            pos = pos + 2 + length
        end
    end
end

local ip_proto = DissectorTable.get("ip.proto")
local mip6 = ip_proto:get_dissector(MH_PROTO)

function dmm.dissector(tvb, pinfo, tree)
    local consumed = mip6:call(tvb, pinfo, tree)
    if tvb:len() < OPTIONS_AT then return consumed end
    local mh_type = tvb(2, 1):uint()
    if mh_type ~= MH_BU and mh_type ~= MH_BA then return consumed end
    local stop = math.min(tvb:len(), (tvb(1, 1):uint() + 1) * 8)
    local root = tree:add(dmm, tvb(0, stop))
    if mh_type == MH_BU then
        root:add(f.bu_d_flag, tvb(8, 2))
    else
        root:add(f.ba_d_flag, tvb(7, 1))
    end
    walk_options(root, tvb, stop)
    return consumed
end

ip_proto:add(MH_PROTO, dmm)
