/*
 * catalogue.c: the table of IoT device types the lab simulates and the renderers
 * that turn a type plus one device's identity into the bytes a client receives.
 *
 * Banners are modelled on what such devices really send: BusyBox telnetd's
 * "(none) login: ", Huawei's "Welcome Visiting Huawei Home Gateway", XiongMai's
 * "uc-httpd 1.0.0", Hikvision's "App-webs/" and "DNVRS-Webs", TP-Link's
 * "401 N/A", Axis's realm carrying the MAC address, HP's Server header carrying
 * the serial number. Several types look alike on purpose (as they do on the
 * Internet): naming a model from a banner is part of what the lab tests.
 *
 * Identification. The project's rules (the XML files in rules/, Recog's format) must name
 * every type's vendor (hw.vendor == .vendor) and device (hw.device) from what a
 * grabber sees, except the deliberately generic ones (vendor "Generic": bare
 * BusyBox, a no-name GoAhead camera, a root shell) and the hostile ones. A
 * kind maps to Recog's hw.device as follows (lab_kind_device; exported in the
 * truth as "device"):
 *
 *   camera  -> "IP Camera"          dvr      -> "DVR"
 *   nvr     -> "NVR"                router   -> "Router"
 *   gateway -> "Broadband Gateway"  wap      -> "Wireless Access Point"
 *   nas     -> "NAS"                printer  -> "Printer"
 *   embedded -> "Embedded"          hostile  -> none
 *
 * Look-alikes made to differ in one part, as real models do: Dahua's camera and
 * recorder both title "WEB SERVICE" (the rules name only the vendor from it);
 * here both also send a Server header that names the product line ("(IPC)",
 * "(XVR)"), which real Dahua firmware does not. Hikvision's camera and recorder differ in Server
 * ("App-webs/" against "DNVRS-Webs" / "Hikvision-Webs").
 *
 * Protocols off their usual port (as LZR found on the Internet): Zhone's ONT
 * and the root-shell board speak telnet on 8000, Vacron's NVR telnet on 81,
 * Linksys and Reolink HTTP on 2323, Ubiquiti SSH on 2323, MikroTik's hEX SSH on
 * 8000, and the "all ports" host HTTP on all six.
 *
 * Hostile types (kind "hostile", weight 1 each: a 1500-device world holds a few
 * of each) test the grabber's bounds; serve.c plays them with bounded state
 * and rate-limited, non-blocking writes.
 */
#include "catalogue.h"

#include <assert.h>

#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

const uint16_t lab_ports[LAB_NPORTS] = {23, 2323, 80, 8080, 81, 8000};

/* BusyBox telnetd: DO ECHO, DO NAWS, WILL ECHO, WILL SUPPRESS-GO-AHEAD. */
static const char iac_busybox[] = "\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03";
/* MikroTik RouterOS: DO TTYPE, DO TSPEED, DO XDISPLOC, DO NEW-ENVIRON. */
static const char iac_mikrotik[] = "\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27";
/* ZyNOS and JetDirect: WILL ECHO, WILL SUPPRESS-GO-AHEAD. */
static const char iac_zynos[] = "\xff\xfb\x01\xff\xfb\x03";

const struct device_type catalogue[] = {
    {
        .name = "busybox-generic",
        .vendor = "Generic",
        .model = "BusyBox embedded Linux",
        .kind = "embedded",
        .weight = 14,
        .ports = PORT_23 | PORT_2323,
        .telnet = "\r\n(none) login: ",
    },
    {
        .name = "hikvision-ipc",
        .vendor = "Hikvision",
        .model = "DS-2CD2032-I",
        .kind = "camera",
        .weight = 8,
        .ports = PORT_23 | PORT_80,
        .telnet = "Serial: {serial}\r\n\r\ndvrdvs login: ",
        .status_line = "HTTP/1.1 200 OK",
        .server = "App-webs/",
        .title = "index",
        .ident = IDENT_SERIAL,
        .serial_prefix = "DS-2CD2032-I20160315CCWR",
        .oui = {0x44, 0x19, 0xb6},
    },
    {
        .name = "hikvision-nvr",
        .vendor = "Hikvision",
        .model = "DS-7608NI-E2",
        .kind = "nvr",
        .weight = 4,
        .ports = PORT_80 | PORT_8000,
        .status_line = "HTTP/1.1 200 OK",
        .server = "DNVRS-Webs",
        .title = "index",
        .oui = {0xc0, 0x56, 0xe3},
    },
    {
        .name = "dahua-ipc",
        .vendor = "Dahua",
        .model = "IPC-HDW4431C-A",
        .kind = "camera",
        .weight = 6,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "Dahua-Webs/1.0 (IPC)",
        .title = "WEB SERVICE",
        .login_form = true,
        .oui = {0x3c, 0xef, 0x8c},
    },
    {
        .name = "dahua-dvr",
        .vendor = "Dahua",
        .model = "DH-XVR5108HS",
        .kind = "dvr",
        .weight = 5,
        .ports = PORT_23 | PORT_80,
        .telnet = "\r\nlocalhost login: ",
        .status_line = "HTTP/1.1 200 OK",
        .server = "Dahua-Webs/1.0 (XVR)",
        .title = "WEB SERVICE",
        .login_form = true,
        .oui = {0x90, 0x02, 0xa9},
    },
    {
        .name = "axis-m1034",
        .vendor = "Axis",
        .model = "M1034-W",
        .kind = "camera",
        .weight = 3,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 401 Unauthorized",
        .server = "Boa/0.92o",
        .realm = "AXIS_{MAC}",
        .title = "401 Unauthorized",
        .ident = IDENT_MAC,
        .oui = {0xac, 0xcc, 0x8e},
    },
    {
        .name = "foscam-fi8918w",
        .vendor = "Foscam",
        .model = "FI8918W",
        .kind = "camera",
        .weight = 3,
        .ports = PORT_81,
        .status_line = "HTTP/1.1 401 Unauthorized",
        .server = "Netwave IP Camera",
        .realm = "Netwave IP Camera",
        .title = "401 Unauthorized",
        .oui = {0x00, 0x62, 0x6e},
    },
    {
        .name = "amcrest-ip2m",
        .vendor = "Amcrest",
        .model = "IP2M-841",
        .kind = "camera",
        .weight = 2,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "lighttpd/1.4.35",
        .title = "Amcrest Technologies",
        .login_form = true,
        .oui = {0x9c, 0x8e, 0xcd},
    },
    {
        .name = "xiongmai-dvr",
        .vendor = "XiongMai",
        .model = "AHB7008T-MH",
        .kind = "dvr",
        .weight = 9,
        .ports = PORT_23 | PORT_80,
        .telnet = "\r\nLocalHost login: ",
        .status_line = "HTTP/1.0 200 OK",
        .server = "uc-httpd 1.0.0",
        .title = "NETSurveillance WEB",
        .login_form = true,
        .oui = {0x00, 0x12, 0x12},
    },
    {
        .name = "zte-f660",
        .vendor = "ZTE",
        .model = "ZXHN F660",
        .kind = "gateway",
        .weight = 6,
        .ports = PORT_23 | PORT_80,
        .telnet = "\r\nF660\r\nLogin: ",
        .status_line = "HTTP/1.1 200 OK",
        .server = "Mini web server 1.0 ZTE corp 2005.",
        .title = "F660",
        .login_form = true,
        .oui = {0x34, 0x4b, 0x50},
    },
    {
        .name = "huawei-hg8245h",
        .vendor = "Huawei",
        .model = "EchoLife HG8245H",
        .kind = "gateway",
        .weight = 6,
        .ports = PORT_23 | PORT_80,
        .telnet = "Welcome Visiting Huawei Home Gateway\r\n"
                  "Copyright by Huawei Technologies Co., Ltd.\r\n\r\nLogin:",
        .status_line = "HTTP/1.1 200 OK",
        .title = "HG8245H",
        .login_form = true,
        .oui = {0x48, 0x46, 0xfb},
    },
    {
        .name = "tplink-wr740n",
        .vendor = "TP-Link",
        .model = "TL-WR740N",
        .kind = "router",
        .weight = 6,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 401 N/A",
        .server = "Router Webserver",
        .realm = "TP-LINK Wireless N Router WR740N",
        .title = "401 Unauthorized",
        .oui = {0xf8, 0x1a, 0x67},
    },
    {
        .name = "mikrotik-rb951",
        .vendor = "MikroTik",
        .model = "RB951Ui-2HnD",
        .kind = "router",
        .weight = 4,
        .ports = PORT_23 | PORT_80 | PORT_8080,
        .telnet_iac = iac_mikrotik,
        .telnet = "MikroTik v6.40.4 (stable)\r\nLogin: ",
        .status_line = "HTTP/1.0 200 OK",
        .title = "RouterOS router configuration page",
        .login_form = true,
        .oui = {0x4c, 0x5e, 0x0c},
    },
    {
        .name = "netgear-dgn2200",
        .vendor = "Netgear",
        .model = "DGN2200v4",
        .kind = "router",
        .weight = 3,
        .ports = PORT_80 | PORT_8080,
        .status_line = "HTTP/1.0 401 Unauthorized",
        .server = "uhttpd/1.0.0",
        .realm = "NETGEAR DGN2200v4",
        .title = "401 Unauthorized",
        .oui = {0xa0, 0x21, 0xb7},
    },
    {
        .name = "dlink-dir615",
        .vendor = "D-Link",
        .model = "DIR-615",
        .kind = "router",
        .weight = 4,
        .ports = PORT_80 | PORT_8080,
        .status_line = "HTTP/1.1 200 OK",
        .server = "Linux, HTTP/1.1, DIR-615 Ver 9.10",
        .title = "D-LINK SYSTEMS, INC. | WIRELESS ROUTER | HOME",
        .login_form = true,
        .oui = {0x1c, 0x7e, 0xe5},
    },
    {
        .name = "dlink-dsl2750u",
        .vendor = "D-Link",
        .model = "DSL-2750U",
        .kind = "gateway",
        .weight = 3,
        .ports = PORT_23 | PORT_80,
        .telnet = "\r\nBCM96318 Broadband Router\r\nLogin: ",
        .status_line = "HTTP/1.0 401 Unauthorized",
        .server = "mini_httpd/1.19 19dec2003",
        .realm = "DSL-2750U",
        .title = "401 Unauthorized",
        .oui = {0xc8, 0xbe, 0x19},
    },
    {
        .name = "dlink-dcs930l",
        .vendor = "D-Link",
        .model = "DCS-930L",
        .kind = "camera",
        .weight = 2,
        .ports = PORT_80 | PORT_8080,
        .status_line = "HTTP/1.1 401 Unauthorized",
        .server = "alphapd",
        .realm = "DCS-930L",
        .title = "Protected Object",
        .oui = {0xb0, 0xc5, 0x54},
    },
    {
        .name = "goahead-p2p-cam",
        .vendor = "Generic",
        .model = "Wireless IP Camera (P2P)",
        .kind = "camera",
        .weight = 5,
        .ports = PORT_81 | PORT_8000,
        .status_line = "HTTP/1.1 401 Unauthorized",
        .server = "GoAhead-Webs",
        .realm = "GoAhead",
        .title = "Document Error: Unauthorized",
        .oui = {0x00, 0xe0, 0x4c},
    },
    {
        .name = "realtek-boa-router",
        .vendor = "Realtek",
        .model = "RTL8196C AP Router",
        .kind = "router",
        .weight = 4,
        .ports = PORT_80 | PORT_2323,
        .telnet = "\r\nRealtek Linux\r\nlogin: ",
        .status_line = "HTTP/1.0 401 Unauthorized",
        .server = "Boa/0.94.13",
        .realm = "Broadband Router",
        .title = "401 Unauthorized",
        .oui = {0x00, 0xe0, 0x4c},
    },
    {
        .name = "zyxel-p660hn",
        .vendor = "ZyXEL",
        .model = "P-660HN-T1A",
        .kind = "gateway",
        .weight = 3,
        .ports = PORT_23 | PORT_80,
        .telnet_iac = iac_zynos,
        .telnet = "\r\nPassword: ",
        .status_line = "HTTP/1.1 401 Unauthorized",
        .server = "RomPager/4.07 UPnP/1.0",
        .realm = "P-660HN-T1A",
        .title = "Protected Object",
        .oui = {0x00, 0x19, 0xcb},
    },
    {
        .name = "synology-ds218",
        .vendor = "Synology",
        .model = "DS218+",
        .kind = "nas",
        .weight = 2,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "nginx",
        .title = "Synology DiskStation",
        .login_form = true,
        .oui = {0x00, 0x11, 0x32},
    },
    {
        .name = "qnap-ts251",
        .vendor = "QNAP",
        .model = "TS-251+",
        .kind = "nas",
        .weight = 2,
        .ports = PORT_8080,
        .status_line = "HTTP/1.1 200 OK",
        .server = "http server 1.0",
        .title = "QNAP Turbo NAS",
        .login_form = true,
        .oui = {0x24, 0x5e, 0xbe},
    },
    {
        .name = "hp-officejet-8610",
        .vendor = "HP",
        .model = "Officejet Pro 8610",
        .kind = "printer",
        .weight = 2,
        .ports = PORT_23 | PORT_80,
        .telnet_iac = iac_zynos,
        .telnet = "\r\nHP JetDirect\r\n\r\nPassword is not set\r\n\r\n"
                  "Please type \"?\" for HELP, or \"/\" for current settings\r\n> ",
        .status_line = "HTTP/1.1 200 OK",
        .server = "HP HTTP Server; HP Officejet Pro 8610 - A7F64A; Serial Number: {serial}; "
                  "Built:Thu Jan 15, 2015 09:41:40AM {FDP1CN1503AR}",
        .title = "HP Officejet Pro 8610",
        .ident = IDENT_SERIAL,
        .serial_prefix = "CN4",
        .oui = {0x9c, 0x8e, 0x99},
    },
    {
        .name = "brother-hl-l2340d",
        .vendor = "Brother",
        .model = "HL-L2340D",
        .kind = "printer",
        .weight = 2,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "debut/1.20",
        .title = "Brother HL-L2340D series",
        .oui = {0x30, 0x05, 0x5c},
    },
    {
        .name = "avtech-avc787",
        .vendor = "AVTECH",
        .model = "AVC787",
        .kind = "dvr",
        .weight = 2,
        .ports = PORT_80 | PORT_81,
        .status_line = "HTTP/1.0 200 OK",
        .server = "Linux/2.x UPnP/1.0 Avtech/1.0",
        .title = "::: Login :::",
        .login_form = true,
        .oui = {0x00, 0x0e, 0x53},
    },
    {
        .name = "vivotek-fd8134",
        .vendor = "Vivotek",
        .model = "FD8134",
        .kind = "camera",
        .weight = 1,
        .ports = PORT_80,
        .status_line = "HTTP/1.0 401 Unauthorized",
        .server = "Boa/0.94.14rc21",
        .realm = "streaming_server",
        .title = "401 Unauthorized",
        .extra_header = "X-Device-MAC: {MAC}",
        .ident = IDENT_MAC,
        .oui = {0x00, 0x02, 0xd1},
    },
    {
        .name = "busybox-root-shell",
        .vendor = "Generic",
        .model = "HiSilicon DVR board (BusyBox shell)",
        .kind = "embedded",
        .weight = 3,
        .ports = PORT_23 | PORT_8000,
        .proto = {[I_8000] = PROTO_TELNET},
        .telnet = "\r\n\r\nBusyBox v1.16.1 (2014-03-04 16:00:18 CST) built-in shell (ash)\r\n"
                  "Enter 'help' for a list of built-in commands.\r\n\r\n~ # ",
        .shell = true,
        .oui = {0x00, 0x12, 0x16},
    },
    {
        .name = "hikvision-dvr",
        .vendor = "Hikvision",
        .model = "DS-7204HGHI-F1",
        .kind = "dvr",
        .weight = 4,
        .ports = PORT_80 | PORT_81,
        .status_line = "HTTP/1.1 200 OK",
        .server = "Hikvision-Webs",
        .title = "index",
        .oui = {0x28, 0x57, 0xbe},
    },
    {
        .name = "ubiquiti-airos",
        .vendor = "Ubiquiti",
        .model = "NanoStation M5",
        .kind = "wap",
        .weight = 3,
        .ports = PORT_80 | PORT_2323,
        .proto = {[I_2323] = PROTO_SSH},
        .ssh = "SSH-2.0-dropbear_2017.75",
        .status_line = "HTTP/1.1 200 OK",
        .server = "lighttpd/1.4.39",
        .title = "airOS",
        .login_form = true,
        .oui = {0x24, 0xa4, 0x3c},
    },
    {
        .name = "mikrotik-hex",
        .vendor = "MikroTik",
        .model = "RB750Gr3 hEX",
        .kind = "router",
        .weight = 3,
        .ports = PORT_8080 | PORT_8000,
        .proto = {[I_8000] = PROTO_SSH},
        .ssh = "SSH-2.0-ROSSSH",
        .status_line = "HTTP/1.1 200 OK",
        .title = "RouterOS router configuration page",
        .login_form = true,
        .oui = {0xb8, 0x69, 0xf4},
    },
    {
        .name = "vacron-nvr",
        .vendor = "Vacron",
        .model = "VIG-US7xxA NVR",
        .kind = "nvr",
        .weight = 2,
        .ports = PORT_80 | PORT_81,
        .proto = {[I_81] = PROTO_TELNET},
        .telnet = "\r\nVacron NVR\r\nnvr login: ",
        .status_line = "HTTP/1.1 200 OK",
        .server = "Boa/0.94.14rc21",
        .title = "VACRON NVR LOGIN",
        .login_form = true,
        .oui = {0x00, 0x1f, 0x54},
    },
    {
        .name = "grandstream-gxv3610",
        .vendor = "Grandstream",
        .model = "GXV3610_HD",
        .kind = "camera",
        .weight = 2,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "Grandstream GXV3610_HD 1.0.3.180",
        .title = "Grandstream Device Configuration",
        .login_form = true,
        .oui = {0x00, 0x0b, 0x82},
    },
    {
        .name = "linksys-e1200",
        .vendor = "Linksys",
        .model = "E1200",
        .kind = "router",
        .weight = 3,
        .ports = PORT_8080 | PORT_2323,
        .proto = {[I_2323] = PROTO_HTTP},
        .status_line = "HTTP/1.0 401 Unauthorized",
        .server = "httpd",
        .realm = "Linksys E1200",
        .title = "401 Unauthorized",
        .oui = {0x58, 0x6d, 0x8f},
    },
    {
        .name = "tenda-ac6",
        .vendor = "Tenda",
        .model = "AC6",
        .kind = "router",
        .weight = 3,
        .ports = PORT_80,
        .status_line = "HTTP/1.0 200 OK",
        .server = "Http Server",
        .title = "Tenda | LOGIN",
        .login_form = true,
        .oui = {0xc8, 0x3a, 0x35},
    },
    {
        .name = "technicolor-tg582n",
        .vendor = "Technicolor",
        .model = "TG582n",
        .kind = "gateway",
        .weight = 3,
        .ports = PORT_23 | PORT_80,
        .telnet_iac = iac_zynos,
        .telnet = "Username : ",
        .status_line = "HTTP/1.1 401 Unauthorized",
        .realm = "Technicolor Gateway",
        .title = "401 Unauthorized",
        .oui = {0xa4, 0x91, 0xb1},
    },
    {
        .name = "sagemcom-fast5260",
        .vendor = "Sagemcom",
        .model = "F@st 5260",
        .kind = "gateway",
        .weight = 2,
        .ports = PORT_80 | PORT_8080,
        .status_line = "HTTP/1.1 200 OK",
        .title = "F@st 5260 - Sagemcom",
        .login_form = true,
        .oui = {0x7c, 0x03, 0x4c},
    },
    {
        .name = "zhone-znid",
        .vendor = "Zhone",
        .model = "ZNID-GPON-2426A",
        .kind = "gateway",
        .weight = 2,
        .ports = PORT_80 | PORT_8000,
        .proto = {[I_8000] = PROTO_TELNET},
        .telnet = "\r\nZhone ZNID-GPON-2426A\r\nLogin: ",
        .status_line = "HTTP/1.0 401 Unauthorized",
        .server = "Zhone Web Server",
        .realm = "ZNID-GPON-2426A",
        .title = "401 Unauthorized",
        .oui = {0x00, 0x01, 0x47},
    },
    {
        .name = "wd-mycloud",
        .vendor = "Western Digital",
        .model = "My Cloud EX2 Ultra",
        .kind = "nas",
        .weight = 2,
        .ports = PORT_80 | PORT_8080,
        .status_line = "HTTP/1.1 200 OK",
        .server = "lighttpd/1.4.35",
        .title = "WD My Cloud EX2 Ultra",
        .login_form = true,
        .oui = {0x00, 0x90, 0xa9},
    },
    {
        .name = "epson-wf3640",
        .vendor = "Epson",
        .model = "WF-3640",
        .kind = "printer",
        .weight = 2,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "EPSON_Linux UPnP/1.0 Epson UPnP SDK/1.0",
        .title = "WF-3640 Series",
        .oui = {0x64, 0xeb, 0x8c},
    },
    {
        .name = "canon-mf4800",
        .vendor = "Canon",
        .model = "MF4800 Series",
        .kind = "printer",
        .weight = 2,
        .ports = PORT_80 | PORT_8000,
        .status_line = "HTTP/1.1 200 OK",
        .server = "CANON HTTP Server",
        .title = "Remote UI: Login: MF4800 Series",
        .login_form = true,
        .oui = {0x00, 0x1e, 0x8f},
    },
    {
        .name = "lexmark-ms410",
        .vendor = "Lexmark",
        .model = "MS410dn",
        .kind = "printer",
        .weight = 1,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "Lexmark_Web_Server",
        .title = "Lexmark MS410dn",
        .oui = {0x00, 0x21, 0xb7},
    },
    {
        .name = "kyocera-ecosys",
        .vendor = "Kyocera",
        .model = "ECOSYS M2135dn",
        .kind = "printer",
        .weight = 1,
        .ports = PORT_80 | PORT_8000,
        .status_line = "HTTP/1.1 200 OK",
        .server = "KM-MFP-http/V0.0.1",
        .title = "Kyocera Command Center RX",
        .oui = {0x00, 0x17, 0xc8},
    },
    {
        .name = "uniview-nvr",
        .vendor = "Uniview",
        .model = "NVR301-04-P4",
        .kind = "nvr",
        .weight = 2,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 200 OK",
        .server = "Uniview-Webs",
        .title = "Uniview NVR",
        .login_form = true,
        .oui = {0x48, 0xea, 0x63},
    },
    {
        .name = "reolink-rlc410",
        .vendor = "Reolink",
        .model = "RLC-410",
        .kind = "camera",
        .weight = 2,
        .ports = PORT_80 | PORT_2323,
        .proto = {[I_2323] = PROTO_HTTP},
        .status_line = "HTTP/1.1 200 OK",
        .server = "nginx",
        .title = "Reolink",
        .login_form = true,
        .oui = {0xec, 0x71, 0xdb},
    },
    {
        .name = "tplink-nc200",
        .vendor = "TP-Link",
        .model = "NC200",
        .kind = "camera",
        .weight = 2,
        .ports = PORT_8080,
        .status_line = "HTTP/1.1 200 OK",
        .server = "NC200 Web Server",
        .title = "NC200",
        .login_form = true,
        .oui = {0x50, 0xc7, 0xbf},
    },
    {
        .name = "netgear-readynas",
        .vendor = "Netgear",
        .model = "ReadyNAS 214",
        .kind = "nas",
        .weight = 1,
        .ports = PORT_80,
        .status_line = "HTTP/1.1 401 Unauthorized",
        .server = "Apache",
        .realm = "ReadyNAS Admin",
        .title = "401 Unauthorized",
        .oui = {0x28, 0xc6, 0x8e},
    },
    {
        .name = "huawei-hg532",
        .vendor = "Huawei",
        .model = "HG532e",
        .kind = "gateway",
        .weight = 3,
        .ports = PORT_80 | PORT_8000,
        .status_line = "HTTP/1.1 200 OK",
        .server = "HuaweiHomeGateway",
        .title = "HG532e",
        .login_form = true,
        .oui = {0x00, 0xe0, 0xfc},
    },
    /* Hostile services: what a grabber must survive. */
    {
        .name = "hostile-endless",
        .vendor = "Lab",
        .model = "endless stream",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_23 | PORT_8080,
        .hostile = HOSTILE_ENDLESS,
    },
    {
        .name = "hostile-slow",
        .vendor = "Lab",
        .model = "one byte every 300 ms",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_2323 | PORT_80,
        .hostile = HOSTILE_SLOW,
    },
    {
        .name = "hostile-silent",
        .vendor = "Lab",
        .model = "accepts, never speaks, never closes",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_23 | PORT_80,
        .hostile = HOSTILE_SILENT,
    },
    {
        .name = "hostile-huge-headers",
        .vendor = "Lab",
        .model = "1 MiB of HTTP headers",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_80 | PORT_8080,
        .hostile = HOSTILE_HUGE_HEADERS,
    },
    {
        .name = "hostile-garbage",
        .vendor = "Lab",
        .model = "binary garbage",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_23 | PORT_81,
        .hostile = HOSTILE_GARBAGE,
    },
    {
        .name = "hostile-iac-flood",
        .vendor = "Lab",
        .model = "endless telnet negotiation",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_23 | PORT_2323,
        .hostile = HOSTILE_IAC_FLOOD,
    },
    {
        /* Never reads: the receive buffer is cut to the minimum after accept. The
         * window advertised in the handshake was normal, and our HTTP request
         * (under 200 bytes) fits the minimal buffer, so the client's send never
         * blocks: this exercises a peer that takes the request and stays silent
         * with a closing window, not a client stuck writing into a zero window. */
        .name = "hostile-zero-window",
        .vendor = "Lab",
        .model = "zero window, never reads",
        .kind = "hostile",
        .weight = 1,
        .ports = PORT_80,
        .hostile = HOSTILE_ZERO_WINDOW,
    },
    {
        /* Opens every lab port with the same HTTP answer (as hosts behind
         * port-forwarding boxes or honeypots do; Censys truncates such hosts). */
        .name = "hostile-all-ports",
        .vendor = "Lab",
        .model = "every port open",
        .kind = "hostile",
        .weight = 1,
        .ports = PORTS_ALL,
        .proto = {PROTO_HTTP, PROTO_HTTP, PROTO_HTTP, PROTO_HTTP, PROTO_HTTP, PROTO_HTTP},
        .status_line = "HTTP/1.1 200 OK",
        .server = "lighttpd",
        .title = "Welcome",
    },
};

const size_t catalogue_len = sizeof(catalogue) / sizeof(catalogue[0]);

enum lab_proto lab_service_proto(const struct device_type *t, unsigned i)
{
    assert(i < LAB_NPORTS);
    if (t->hostile != HOSTILE_NONE)
        return PROTO_HOSTILE;
    if (t->proto[i] != PROTO_DEFAULT)
        return (enum lab_proto)t->proto[i];
    return ((1u << i) & PORTS_TELNET) ? PROTO_TELNET : PROTO_HTTP;
}

const char *hostile_kind_name(enum hostile_kind k)
{
    switch (k) {
    case HOSTILE_ENDLESS:
        return "endless";
    case HOSTILE_SLOW:
        return "slow";
    case HOSTILE_SILENT:
        return "silent";
    case HOSTILE_HUGE_HEADERS:
        return "huge-headers";
    case HOSTILE_GARBAGE:
        return "garbage";
    case HOSTILE_IAC_FLOOD:
        return "iac-flood";
    case HOSTILE_ZERO_WINDOW:
        return "zero-window";
    case HOSTILE_NONE:
        break;
    }
    return "none";
}

const char *lab_service_protocol_name(const struct device_type *t, unsigned i)
{
    switch (lab_service_proto(t, i)) {
    case PROTO_TELNET:
        return "telnet";
    case PROTO_SSH:
        return "ssh";
    case PROTO_HOSTILE:
        return hostile_kind_name(t->hostile);
    case PROTO_HTTP:
    case PROTO_DEFAULT:
        break;
    }
    return "http";
}

/* Does the greeting's last line ask for a user name or password? */
static bool asks_login(const char *text)
{
    static const char *const words[] = {"login", "username", "user name", "password", "user:"};
    const char *last = text, *nl;
    size_t len;

    while ((nl = strchr(last, '\n')) != NULL && nl[1] != '\0')
        last = nl + 1;
    len = strlen(last);
    while (len > 0 && (last[len - 1] == ' ' || last[len - 1] == '\r' || last[len - 1] == '\n'))
        len--;
    if (len == 0 || last[len - 1] != ':')
        return false;
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
        for (const char *p = last; p + strlen(words[w]) <= last + len; p++)
            if (strncasecmp(p, words[w], strlen(words[w])) == 0)
                return true;
    return false;
}

/* Does the greeting end in a command prompt ("~ # ", "$ ", JetDirect's "> ")? */
static bool ends_in_prompt(const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\r' || text[len - 1] == '\n'))
        len--;
    return len > 0 && strchr("#$>", text[len - 1]) != NULL;
}

const char *lab_service_exposure(const struct device_type *t, unsigned i)
{
    switch (lab_service_proto(t, i)) {
    case PROTO_TELNET:
        if (t->shell || (t->telnet != NULL && ends_in_prompt(t->telnet)))
            return "telnet-shell";
        return t->telnet != NULL && asks_login(t->telnet) ? "telnet-login" : NULL;
    case PROTO_HTTP:
        if ((http_status_code(t) == 401 && t->realm != NULL) || t->login_form)
            return "http-login";
        return NULL;
    default:
        return NULL;
    }
}

const char *lab_kind_device(const char *kind)
{
    static const char *const map[][2] = {
        {"camera", "IP Camera"},
        {"dvr", "DVR"},
        {"nvr", "NVR"},
        {"router", "Router"},
        {"gateway", "Broadband Gateway"},
        {"wap", "Wireless Access Point"},
        {"nas", "NAS"},
        {"printer", "Printer"},
        {"embedded", "Embedded"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(kind, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

int lab_port_index(uint16_t port)
{
    for (unsigned i = 0; i < LAB_NPORTS; i++)
        if (lab_ports[i] == port)
            return (int)i;
    return -1;
}

/* Appends src[0..len) to out at *pos; -1 when it would not fit with a NUL. */
static int append(char *out, size_t n, size_t *pos, const char *src, size_t len)
{
    if (*pos + len + 1 > n)
        return -1;
    memcpy(out + *pos, src, len);
    *pos += len;
    out[*pos] = '\0';
    return 0;
}

int render_template(const char *tmpl, const struct device_ident *id, char *out, size_t n)
{
    size_t pos = 0;
    char buf[40];

    if (n == 0)
        return -1;
    out[0] = '\0';
    if (tmpl == NULL)
        return 0;
    for (const char *p = tmpl; *p != '\0';) {
        const char *sub = NULL;
        size_t skip = 0;
        if (strncmp(p, "{serial}", 8) == 0) {
            sub = id->serial;
            skip = 8;
        } else if (strncmp(p, "{mac}", 5) == 0) {
            snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", id->mac[0], id->mac[1],
                     id->mac[2], id->mac[3], id->mac[4], id->mac[5]);
            sub = buf;
            skip = 5;
        } else if (strncmp(p, "{MAC}", 5) == 0) {
            snprintf(buf, sizeof(buf), "%02X%02X%02X%02X%02X%02X", id->mac[0], id->mac[1],
                     id->mac[2], id->mac[3], id->mac[4], id->mac[5]);
            sub = buf;
            skip = 5;
        }
        if (sub != NULL) {
            if (append(out, n, &pos, sub, strlen(sub)) < 0)
                return -1;
            p += skip;
        } else {
            if (append(out, n, &pos, p, 1) < 0)
                return -1;
            p++;
        }
    }
    return (int)pos;
}

int render_identifier(const struct device_type *t, const struct device_ident *id, char *out,
                      size_t n)
{
    switch (t->ident) {
    case IDENT_SERIAL:
        return render_template("{serial}", id, out, n);
    case IDENT_MAC:
        return render_template("{mac}", id, out, n);
    case IDENT_NONE:
        break;
    }
    return render_template(NULL, id, out, n);
}

int render_telnet_text(const struct device_type *t, const struct device_ident *id, char *out,
                       size_t n)
{
    return render_template(t->telnet, id, out, n);
}

int render_telnet(const struct device_type *t, const struct device_ident *id, char *out, size_t n)
{
    const char *iac = t->telnet_iac != NULL ? t->telnet_iac : iac_busybox;
    size_t len = strlen(iac);
    int text;

    if (len + 1 > n)
        return -1;
    memcpy(out, iac, len);
    text = render_telnet_text(t, id, out + len, n - len);
    if (text < 0)
        return -1;
    return (int)len + text;
}

int http_status_code(const struct device_type *t)
{
    const char *sp = t->status_line != NULL ? strchr(t->status_line, ' ') : NULL;
    return sp != NULL ? atoi(sp + 1) : 0;
}

int render_http_body(const struct device_type *t, const struct device_ident *id, char *out,
                     size_t n)
{
    char title[256];
    int len;

    if (render_template(t->title, id, title, sizeof(title)) < 0)
        return -1;
    if (http_status_code(t) == 401)
        len = snprintf(out, n,
                       "<html><head><title>%s</title></head>\n"
                       "<body><h1>401 Unauthorized</h1>\n"
                       "Authorization required.</body></html>\n",
                       title);
    else
        len = snprintf(out, n,
                       "<!DOCTYPE html>\n<html>\n<head>\n"
                       "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n"
                       "<title>%s</title>\n</head>\n"
                       "<body>\n<div id=\"login\">%s %s</div>\n%s</body>\n</html>\n",
                       title, t->vendor, t->kind,
                       t->login_form ? "<form method=\"post\" action=\"/login\">\n"
                                       "<input type=\"text\" name=\"username\">\n"
                                       "<input type=\"password\" name=\"password\">\n"
                                       "<input type=\"submit\" value=\"Login\">\n</form>\n"
                                     : "");
    return len >= 0 && (size_t)len < n ? len : -1;
}

int render_http_head(const struct device_type *t, const struct device_ident *id, size_t body_len,
                     char *out, size_t n)
{
    char server[256], realm[128], extra[128];
    size_t pos = 0;
    int len;

    if (render_template(t->server, id, server, sizeof(server)) < 0 ||
        render_template(t->realm, id, realm, sizeof(realm)) < 0 ||
        render_template(t->extra_header, id, extra, sizeof(extra)) < 0)
        return -1;
    len = snprintf(out, n, "%s\r\n", t->status_line);
    if (len < 0 || (size_t)len >= n)
        return -1;
    pos = (size_t)len;
    if (t->server != NULL) {
        len = snprintf(out + pos, n - pos, "Server: %s\r\n", server);
        if (len < 0 || (size_t)len >= n - pos)
            return -1;
        pos += (size_t)len;
    }
    if (t->realm != NULL) {
        len = snprintf(out + pos, n - pos, "WWW-Authenticate: Basic realm=\"%s\"\r\n", realm);
        if (len < 0 || (size_t)len >= n - pos)
            return -1;
        pos += (size_t)len;
    }
    if (t->extra_header != NULL) {
        len = snprintf(out + pos, n - pos, "%s\r\n", extra);
        if (len < 0 || (size_t)len >= n - pos)
            return -1;
        pos += (size_t)len;
    }
    len = snprintf(out + pos, n - pos,
                   "Content-Type: text/html\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                   body_len);
    if (len < 0 || (size_t)len >= n - pos)
        return -1;
    return (int)(pos + (size_t)len);
}
